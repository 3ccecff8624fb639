"""Run bad-data files through the real CLI entry point, one after the other, in one
process: `python -m tests.corpus_runner OUT.json -- ARGS... --cases KIND=PATH ...`.

Each case is a full `pipelines.__main__.main([...])` call (real components, real stores);
sharing the process only shares the import cost (about 20 s for TFX), which would
otherwise dominate 13 short runs that stop at the validation gate.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
import traceback

from pipelines.__main__ import main


def run_cases(args: list[str], cases: dict[str, str]) -> dict[str, dict]:
    """{kind: {"code", "stdout", "stderr"}} for `main([*args, "--data", path])`."""
    results = {}
    for kind, path in cases.items():
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = int(main([*args, "--data", path]))
            except BaseException:  # noqa: BLE001 - a crash is a result the test reports
                traceback.print_exc(file=err)
                code = -1
        results[kind] = {"code": code, "stdout": out.getvalue(), "stderr": err.getvalue()}
        print(f"{kind}: exit {code}", file=sys.__stderr__, flush=True)
    return results


if __name__ == "__main__":
    out_path, _, rest = sys.argv[1], sys.argv[2], sys.argv[3:]
    split = rest.index("--cases")
    cli_args, pairs = rest[:split], rest[split + 1 :]
    cases = dict(pair.split("=", 1) for pair in pairs)
    with open(out_path, "w") as fh:
        json.dump(run_cases(cli_args, cases), fh)
