"""`python -m pipelines export-web [--stack NAME] [--no-browser]`: every stack's champion
as a static bundle that runs in a browser, one page that runs them side by side, and the
page measured in headless Chromium.

Writes <workdir>/web/<stack>/<dataset>/ (each wing's `web` module, stacks.toml) and
<workdir>/web/index.html; then, unless --no-browser, serves <workdir>/web on 127.0.0.1,
lets Chromium predict the eval rows in the page, and writes each bundle's browser.json
(agreement with the champion, size, load time, latency), which the report shows.
Exit 0 when every bundle was made and, when measured, agrees with its champion on every
row; 1 otherwise, with the cause.
"""

from __future__ import annotations

import importlib
import sys

from components.shared import stacks
from components.shared.contract import Contract
from components.shared.layout import Workdir
from components.shared.outcome import ExitCode


def run(contract: Contract, workdir: Workdir, only: str | None = None, browser: bool = True) -> int:
    from components.shared.web import WebExportError, eval_rows, measure, write_page

    wings = {n: s for n, s in stacks.load().items() if s.web and only in (None, n)}
    bundled, failed = [], {}
    for name, stack in wings.items():
        try:
            folder = importlib.import_module(stack.web).export(contract, workdir)
        except WebExportError as exc:
            failed[name] = str(exc)
            continue
        bundled.append(name)
        print(f"export-web: {stack.title}: {folder}")
    for name, reason in failed.items():
        print(f"export-web: {name}: {reason}", file=sys.stderr)
    if not bundled:
        print("export-web: failed (exit 1): no bundle was made", file=sys.stderr)
        return ExitCode.ERROR
    rows = eval_rows(contract)
    # The page shows every bundle there is; --stack only chooses what is made and measured.
    on_page = [
        n for n in stacks.load() if (workdir.web_bundle(n, contract) / "bundle.json").exists()
    ]
    page = write_page(workdir, contract, rows, on_page)
    print(f"export-web: page {workdir.web() / page}")
    if not browser:
        return ExitCode.ERROR if failed else ExitCode.OK  # each failure printed above
    try:
        measured = measure(workdir, contract, rows, page, bundled)
    except WebExportError as exc:
        print(f"export-web: failed (exit 1): {exc}", file=sys.stderr)
        return ExitCode.ERROR
    for name, m in measured.items():
        title = wings[name].title
        if "error" in m:
            failed[name] = m["error"]
            print(f"export-web: {title}: failed in the browser: {m['error']}", file=sys.stderr)
            continue
        print(
            f"export-web: {title} in Chromium ({m['format']}, {m['runtime']}): "
            f"{m['size_bytes'] / 1e6:.1f} MB bundle, model {m['model_bytes'] / 1e3:.0f} kB, "
            f"load {m['load_ms']:.0f} ms, {m['per_row_ms']:.2f} ms per row; agreement "
            f"{m['agreement']:.3f} with {m['champion']} on {m['rows']} eval rows "
            f"(max probability difference {m['max_abs_prob_diff']:.1e})"
        )
        if m["agreement"] < 1.0:
            failed[name] = f"agreement {m['agreement']:.3f} with its champion, not 1.0"
    if failed:
        reasons = "; ".join(f"{name}: {reason}" for name, reason in failed.items())
        print(f"export-web: failed (exit 1): {reasons}", file=sys.stderr)
        return ExitCode.ERROR
    return ExitCode.OK
