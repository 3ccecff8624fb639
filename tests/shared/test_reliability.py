"""Security and bookkeeping defaults every stack relies on: a run is marked stale only
when its process is gone, the UI binds loopback unless told, torch.load never unpickles
code, no credentials in the repository. (Each stack's fail-closed runs are in
tests/<stack>/test_*_reliability.py.)"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

from components.shared.contract import REPO_ROOT
from components.shared.layout import Workdir
from tests.failing_runs import kill, popen


def test_a_run_is_stale_only_when_its_process_is_gone_from_this_host():
    from components.shared import tracking

    mine = tracking.process_tags()
    assert not tracking._process_gone(mine)
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()
    assert tracking._process_gone({**mine, "run_pid": str(ended.pid)})
    # Another machine's process (a shared tracking server) cannot be checked from here.
    assert not tracking._process_gone({**mine, "run_pid": str(ended.pid), "run_host": "x"})
    # A live pid that started at another time: the run's process is gone, the pid reused.
    assert tracking._process_gone({**mine, "run_process_start": "1"})
    assert not tracking._process_gone({})


# ------------------------------------------------------------------------ security


def test_ui_binds_loopback_unless_told():
    from pipelines import ui
    from pipelines.__main__ import build_parser

    assert build_parser().parse_args(["ui"]).host == "127.0.0.1"
    command = ui.command(Workdir("runs"), "127.0.0.1", 5000)
    assert command[command.index("--host") + 1] == "127.0.0.1"
    assert ui.is_loopback("127.0.0.1") and ui.is_loopback("::1")
    assert not ui.is_loopback("0.0.0.0")


def test_ui_on_all_interfaces_warns(tmp_path):
    proc = popen("ui", "--host", "0.0.0.0", "--port", "0", "--workdir", tmp_path)
    try:
        # The warning comes first, before the server starts.
        line = proc.stderr.readline()
    finally:
        kill(proc)
    assert line.startswith("warning: serving the MLflow UI on 0.0.0.0")
    assert "no authentication" in line


def _tracked_files() -> list[Path]:
    out = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO_ROOT, capture_output=True, check=True
    ).stdout
    return [REPO_ROOT / name for name in out.decode().split("\0") if name]


def _calls(path: Path, module: str, function: str) -> list[ast.Call]:
    return [
        node
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == function
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == module
    ]


def _weights_only(call: ast.Call) -> bool:
    return any(
        k.arg == "weights_only" and isinstance(k.value, ast.Constant) and k.value.value is True
        for k in call.keywords
    )


def test_every_torch_load_refuses_pickled_code():
    python = [p for p in _tracked_files() if p.suffix == ".py" and p.exists()]
    loads = [(p, c) for p in python for c in _calls(p, "torch", "load")]
    uses_torch = any(re.search(r"^\s*(import|from) torch\b", p.read_text(), re.M) for p in python)
    # A tree that dropped the stack that saves torch weights has none to load.
    assert loads or not uses_torch, "no torch.load found: the test would pass vacuously"
    unsafe = [f"{p.relative_to(REPO_ROOT)}:{c.lineno}" for p, c in loads if not _weights_only(c)]
    assert not unsafe, f"torch.load without weights_only=True: {unsafe}"
    pickled = [
        f"{p.relative_to(REPO_ROOT)}:{c.lineno}"
        for p in python
        if p.parent.name != "tests"
        for module in ("pickle", "cloudpickle", "dill")
        for c in _calls(p, module, "load") + _calls(p, module, "loads")
    ]
    assert not pickled, f"unpickling in pipeline code: {pickled}"


SECRET_PATTERNS = [
    # key = "long literal" for names that hold credentials
    re.compile(
        r"(?i)\b[\w-]*(api[_-]?key|secret|token|passw(or)?d|credential)[\w-]*\b[\"']?\s*[:=]\s*"
        r"[\"'][^\"'\s]{8,}[\"']"
    ),
    re.compile(r"AKIA[0-9A-Z]{16}"),  # AWS access key id
    re.compile(r"gh[pousr]_[A-Za-z0-9]{36}"),  # GitHub token
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    re.compile(r"(?i)://[^/\s:@]+:[^/\s@]{4,}@"),  # user:password@ in a URL
]
# (file, matched text) pairs reviewed and known not to be credentials.
SECRET_ALLOWLIST: set[tuple[str, str]] = set()


def _secrets(text: str) -> list[str]:
    return [m.group(0) for pattern in SECRET_PATTERNS for m in pattern.finditer(text)]


def test_secret_patterns_catch_credentials():
    samples = [
        'api_key = "sk-live-0123456789abcdef"',
        "AWS_ACCESS_KEY_ID=AKIAABCDEFGHIJKLMNOP",
        "password: 'correct-horse-battery'",
        "postgresql://admin:hunter22@db:5432/mlflow",
        "-----BEGIN RSA PRIVATE KEY-----",
    ]
    assert all(_secrets(sample) for sample in samples)
    assert not _secrets('token = os.environ["MLFLOW_TRACKING_TOKEN"]')


def test_no_credentials_in_the_repository():
    found = []
    for path in _tracked_files():
        if not path.is_file() or path == Path(__file__):
            continue
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue  # binary
        name = str(path.relative_to(REPO_ROOT))
        found += [(name, hit) for hit in _secrets(text) if (name, hit) not in SECRET_ALLOWLIST]
    assert not found
