#!/usr/bin/env bash
# Recompile the locks from the requirements in pyproject.toml:
#   requirements.lock          base + every stack's extra + dev (what the full template runs)
#   requirements/<stack>.lock  base + that stack's extra + dev, pinned to the same versions
#                              (compiled with requirements.lock as constraints), for a
#                              project that keeps one stack (stacks.toml names each lock)
# The locks target Python 3.10, the newest Python TFX 1.16 declares support for, and leave
# out torch's CUDA runtime (nvidia-*, cuda-*, triton: ~4 GB): setup installs the CPU build
# of torch. uv resolves in seconds where pip backtracks for minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
uv=${UV:-uv}
if ! command -v "$uv" >/dev/null 2>&1; then
  python3 -m venv .uv-venv && .uv-venv/bin/pip install -q uv && uv=.uv-venv/bin/uv
fi
compile() {  # compile OUT [uv options...]
  local out=$1; shift
  "$uv" pip compile --quiet --python-version 3.10 --no-header --no-annotate "$@" \
    pyproject.toml -o "$out"
  grep -v -E '^(nvidia-|cuda-|triton==)' "$out" > "$out.tmp"
  mv "$out.tmp" "$out"
  echo "wrote $out ($(grep -c '==' "$out") pins)"
}
# Each wing's extra and lock, as stacks.toml names them: "extra:lock" per line.
wings=$(python3 -c 'import tomllib
for s in tomllib.load(open("stacks.toml", "rb"))["stacks"].values(): print(s["extra"] + ":" + s["lock"])')
all=(--extra dev)
for wing in $wings; do all+=(--extra "${wing%%:*}"); done
# Compiling onto the existing lock keeps its pins wherever they still fit.
compile requirements.lock "${all[@]}"
for wing in $wings; do
  mkdir -p "$(dirname "${wing#*:}")"
  compile "${wing#*:}" --extra "${wing%%:*}" --extra dev --constraint requirements.lock
done
