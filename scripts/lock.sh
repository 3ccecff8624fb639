#!/usr/bin/env bash
# Recompile requirements.lock from the top-level requirements in pyproject.toml.
# The lock targets Python 3.10, the newest Python TFX 1.16 declares support for,
# and leaves out torch's CUDA runtime (nvidia-*, cuda-*, triton: ~4 GB): setup
# installs the CPU build of torch. uv resolves in ~25 s where pip backtracks for minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
uv=${UV:-uv}
if ! command -v "$uv" >/dev/null 2>&1; then
  python3 -m venv .uv-venv && .uv-venv/bin/pip install -q uv && uv=.uv-venv/bin/uv
fi
# Compiling onto the existing lock keeps its pins wherever they still fit.
"$uv" pip compile --quiet --python-version 3.10 --extra dev --no-header --no-annotate \
  pyproject.toml -o requirements.lock
grep -v -E '^(nvidia-|cuda-|triton==)' requirements.lock > requirements.lock.tmp
mv requirements.lock.tmp requirements.lock
echo "wrote requirements.lock ($(grep -c '==' requirements.lock) pins)"
