"""Write the comparison report: Markdown with PNGs beside it, and one self-contained HTML."""

from __future__ import annotations

import base64
import json
import re
import shutil
from pathlib import Path

import markdown

from components.report import plots
from components.report.code_size import lines_per_stage
from components.report.collect import History, StackRun
from components.report.footprint import Footprint
from components.shared import stacks
from components.shared.scenario import timeline_markdown

# The glue claims (stacks.toml) of day two: what each stack needed beside the shared code.
DAY_TWO_CLAIMS = ("spans and a window", "drift check", "rollback")


def _fmt(value: float | None, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(map(str, r)) + " |" for r in rows]
    return "\n".join(lines)


def _summary(runs: dict[str, StackRun]) -> str:
    rows = [
        [
            stack,
            f"`{run.run_id[:12]}`",
            run.outcome,
            _fmt(run.accuracy),
            _fmt(run.metrics.get("time_total_s"), 1),
            run.outcome_detail or "",
        ]
        for stack, run in runs.items()
    ]
    return _table(
        ["stack", "MLflow run", "outcome", "eval accuracy", "pipeline s (after imports)", "detail"],
        rows,
    )


def _step_times(runs: dict[str, StackRun]) -> str:
    rows = []
    for stack, run in runs.items():
        rows += [[stack, step, _fmt(sec, 1)] for step, sec in run.step_times.items()]
    return _table(["stack", "step", "wall time (s)"], rows)


def _metrics(runs: dict[str, StackRun], classes: list[str]) -> str:
    header = ["metric", *runs]
    rows = [["accuracy", *(_fmt(r.accuracy) for r in runs.values())]]
    # What always predicting the training majority scores on the same eval rows: the
    # number every model must beat (components/shared/baseline.py).
    rows.append(
        [
            "accuracy of the majority-class baseline",
            *(_fmt(r.metrics.get("eval_accuracy_baseline")) for r in runs.values()),
        ]
    )
    rows += [[f"F1 {c}", *(_fmt(r.f1(c)) for r in runs.values())] for c in classes]
    rows.append(["log loss", *(_fmt(r.metrics.get("eval_log_loss")) for r in runs.values())])
    return _table(header, rows)


def _code(stacks: list[str]) -> str:
    rows = []
    for stack in stacks:
        stages = lines_per_stage(stack)
        rows += [[stack, stage, n] for stage, n in stages.items()]
        rows.append([stack, "**total**", f"**{sum(stages.values())}**"])
    return _table(["stack", "module (stage)", "lines of code"], rows)


def _lineage(runs: dict[str, StackRun]) -> str:
    """What each stack's run says of its lineage and what it published (its tags)."""
    rows = [
        [
            stack,
            run.tags.get("lineage_store", "?"),
            run.tags.get("lineage_recorded", "?"),
            run.mlflow_artifacts,
            run.tags.get("published_model", "not published"),
        ]
        for stack, run in runs.items()
    ]
    return _table(
        ["stack", "lineage store", "lineage recorded", "files in the MLflow run", "model"], rows
    )


def _validation(histories: list[History]) -> str:
    rows = [
        [h.stack, sum(h.outcomes.values()), ", ".join(f"{k}: {v}" for k, v in h.outcomes.items())]
        for h in histories
    ]
    return _table(["stack", "runs recorded", "outcomes"], rows)


def _footprint(footprints: list[Footprint]) -> str:
    rows = [
        [f.stack, f.packages, f.megabytes, f"{f.shared_packages} ({f.shared_megabytes} MB)"]
        for f in footprints
    ]
    return _table(["stack", "packages", "MB installed", "shared with the other stack"], rows)


def _parity(parity: dict | None) -> str:
    if not parity:
        return "Not measured in this workdir (`python -m pipelines all` measures it)."
    rows = [
        [f"{stack}: {m['served_by']}", _fmt(m["accuracy"])] for stack, m in parity["models"].items()
    ]
    rows.append(["rows where all predict the same class", _fmt(parity["agreement"])])
    return (
        f"The published models answered the same {parity['rows']} raw JSON eval rows.\n\n"
        + _table(["", "value"], rows)
    )


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def _claims(claims: dict | None) -> str:
    """Edge exports, TensorBoard, orchestrators and the glue each took (components/report/
    claims.py gathers them)."""
    if not claims:
        return "Not gathered."
    rows = []
    for stack, edge in claims["edge"].items():
        if "error" in edge:
            rows.append(
                [stack, edge.get("format", ""), f"failed: {edge['error'][:200]}"] + [""] * 6
            )
            continue
        rows.append(
            [
                stack,
                edge["format"],
                f"{edge['size_bytes'] / 1024:.1f}",
                _fmt(edge["agreement"]),
                f"{edge['max_abs_prob_diff']:.1e}",
                _ms(edge["latency_single_ms"]),
                _ms(edge["latency_batch_ms"]),
                _ms(edge.get("full_latency_single_ms")),
                edge.get("preprocessing", ""),
            ]
        )
    edge_table = (
        _table(
            [
                "stack",
                "format",
                "KiB",
                "agreement",
                "max prob diff",
                "1 row ms",
                f"{next(iter(claims['edge'].values())).get('latency_batch_rows', '')} rows ms",
                "full model, 1 row ms",
                "preprocessing",
            ],
            rows,
        )  # fmt: skip
        if rows
        else "No edge export in this workdir."
    )
    notes = [
        f"\n{stack}: 1 row with the preprocessing applied beside the model: "
        f"{_ms(edge['latency_single_with_preprocessing_ms'])} ms."
        for stack, edge in claims["edge"].items()
        if "latency_single_with_preprocessing_ms" in edge
    ]
    edge_table += "".join(notes)
    browser = _browser(claims.get("browser", {}))
    tensorboard = _table(
        ["stack", "runs with TensorBoard event files"],
        [[s, n] for s, n in claims["tensorboard"].items()],
    )
    glue = _table(
        ["claim", *claims["glue"][next(iter(claims["glue"]))]],
        [[claim, *by_stack.values()] for claim, by_stack in claims["glue"].items()],
    )
    return "\n".join(
        [
            "### Edge export (this CPU; agreement and probabilities against the full model "
            "on the eval rows)\n",
            edge_table,
            "\n### In the browser (`python -m pipelines export-web`; headless Chromium, "
            "raw eval rows in the page, against the champion)\n",
            browser,
            "\n### TensorBoard (`make tensorboard`)\n",
            tensorboard,
            "\n### Orchestrator targets\n",
            _table(["stack", "target", "status"], claims["orchestrators"]),
            "\n### Glue code each stack needed (code lines)\n",
            glue,
        ]
    )


def _browser(results: dict[str, dict]) -> str:
    """export-web's measurement of each stack's bundle in headless Chromium."""
    if not results:
        return "Not measured in this workdir: run `python -m pipelines export-web`."
    rows = []
    for stack, m in results.items():
        if "error" in m:
            rows.append([stack, m.get("format", ""), f"failed: {m['error'][:200]}"] + [""] * 6)
            continue
        rows.append(
            [
                stack,
                f"{m['format']} ({m['runtime']})",
                f"{m['size_bytes'] / 1e6:.2f}",
                f"{m['model_bytes'] / 1024:.1f}",
                _fmt(m["agreement"]),
                f"{m['max_abs_prob_diff']:.1e}",
                f"{m['load_ms']:.0f}",
                _ms(m["per_row_ms"]),
                _ms(m["batch_ms"]),
            ]
        )
    rows_measured = next(iter(results.values())).get("rows", "")
    header = ["stack", "format", "bundle MB", "model KiB", "agreement", "max prob diff",
              "load ms", "1 row ms", f"{rows_measured} rows ms"]  # fmt: skip
    return _table(header, rows)


def _performance(bench_dir: Path | None, out_dir: Path) -> str:
    """The latest `make bench`, `make bench-scale` and `make bench-speedups` results, when
    there are any."""
    parts = []
    if bench_dir is not None and (bench_dir / "bench.md").exists():
        parts += ["### Against the frameworks' own minimal use (`make bench`)\n",
                  (bench_dir / "bench.md").read_text()]  # fmt: skip
    if bench_dir is not None and (bench_dir / "scale.md").exists():
        if (bench_dir / "scale.png").exists():
            shutil.copy(bench_dir / "scale.png", out_dir / "scale.png")
        parts += ["### Scaling with the rows (`make bench-scale`)\n",
                  (bench_dir / "scale.md").read_text()]  # fmt: skip
    if bench_dir is not None and (bench_dir / "speedups.md").exists():
        parts += ["### What each speed-up still pays (`make bench-speedups`)\n",
                  (bench_dir / "speedups.md").read_text()]  # fmt: skip
    if not parts:
        return "Not measured yet in this workdir: run `make bench` and `make bench-scale`.\n"
    return "\n".join(parts)


SERVING_CLAIMS = ("serving", "monitoring")


def _serving(
    bench_dir: Path | None, claims: dict | None, monitors: dict[str, dict], out_dir: Path
) -> str:
    """`make bench-serve`'s table and plot, the latest `monitor` verdicts, and the code
    each stack needed to serve and to watch (stacks.toml's glue for these claims)."""
    parts = []
    if bench_dir is not None and (bench_dir / "serve.md").exists():
        if (bench_dir / "serve.png").exists():
            shutil.copy(bench_dir / "serve.png", out_dir / "serve.png")
            parts.append("![serving latency](serve.png)\n")
        parts += ["### Under load (`make bench-serve`)\n", (bench_dir / "serve.md").read_text()]
    else:
        parts.append("Not measured yet in this workdir: run `make bench-serve`.\n")
    parts.append("\n### Served traffic against the training data (`monitor`)\n")
    if monitors:
        rows = [[stack, m["version"], m["rows"], m["outcome"], m["skewed"], m["method"]]
                for stack, m in monitors.items()]  # fmt: skip
        parts.append(_table(["stack", "model version", "rows", "verdict", "skewed", "how"], rows))
    else:
        parts.append("No `monitor` run recorded yet.\n")
    parts += _glue(
        claims,
        SERVING_CLAIMS,
        "\n### Code each stack needed to serve and to watch (code lines)\n",
        "Beside what both share: `serve`, the request log, `monitor` and its MLflow run.\n",
    )
    return "\n".join(parts)


def _glue(claims: dict | None, names: tuple[str, ...], title: str, note: str) -> list[str]:
    """The code lines each stack needed for these glue claims (stacks.toml), as a table
    under `title`; nothing when no stack declares them."""
    glue = (claims or {}).get("glue", {})
    if not any(claim in glue for claim in names):
        return []
    stacks_here = list(next(iter(glue.values())))
    rows = [[claim, *(str(glue[claim].get(s, 0)) for s in stacks_here)]
            for claim in names if claim in glue]  # fmt: skip
    return [title, note, _table(["", *stacks_here], rows)]


def _timeline(timeline: dict | None, claims: dict | None) -> str:
    """The latest replayed scenario, event x stack, and the code each stack needed for
    each day-two capability."""
    if not timeline:
        return "No scenario replayed in this workdir yet: run `make replay`.\n"
    parts = [
        f"Scenario `{timeline['scenario']}`, played by `python -m pipelines replay`: what "
        "each stack did after each event.\n",
        timeline_markdown(timeline),
    ]
    parts += _glue(
        claims,
        DAY_TWO_CLAIMS,
        "\n### Code each stack needed for day two (code lines)\n",
        "Beside what both share: the span folders, the split and `replay` itself.\n",
    )
    return "\n".join(parts)


def write(
    out_dir: Path,
    runs: dict[str, StackRun],
    histories: list[History],
    footprints: list[Footprint],
    classes: list[str],
    parity: dict | None,
    claims: dict | None = None,
    bench_dir: Path | None = None,
    dataset: str = "",
    monitors: dict[str, dict] | None = None,
    timeline: dict | None = None,
) -> tuple[Path, Path]:
    """Write comparison.md (PNGs beside it) and a self-contained comparison.html.

    `bench_dir`: where `make bench` / `make bench-scale` wrote their tables and plot;
    `dataset`: the contract's name, in the title; `monitors`: the latest `monitor`
    verdict of each stack; `timeline`: the latest replayed scenario
    (collect.replay_timeline).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    wings = stacks.load()
    title = " vs ".join(stack.title for stack in wings.values())
    figures = {
        "times": plots.step_times(runs, out_dir / "step_times.png"),
        "metrics": plots.metrics(runs, classes, out_dir / "metrics.png"),
        "confusion": plots.confusion(runs, out_dir / "confusion.png"),
        "curves": plots.curves(runs, out_dir / "curves.png"),
    }

    def figure(key: str) -> str:
        return f"![{key}]({figures[key].name})\n" if figures[key] else ""

    sections = [
        f"# {title} on {dataset or 'the dataset'}: the comparison\n",
        "Generated by `python -m pipelines report` from the latest runs recorded in MLflow.\n",
        "## Latest runs\n",
        _summary(runs),
        "\n## Wall time per step\n",
        figure("times"),
        _step_times(runs),
        "\n## Evaluation, on the same eval rows\n",
        figure("metrics"),
        _metrics(runs, classes),
        "\n",
        figure("confusion"),
        figure("curves"),
        "\n## What each stack needed: lines of code\n",
        "Counted from the source (code lines only: no blanks, comments or docstrings).\n",
        _code(list(wings)),
        "\n## Artifacts and lineage\n",
        _lineage(runs),
        "\n## Validation behaviour: what stopped runs\n",
        _validation(histories),
        "\n## Install footprint\n",
        "Each stack's dependency closure, measured from the installed packages.\n",
        _footprint(footprints),
        "\n## Serving parity\n",
        _parity(parity),
        "\n## Day two: the replayed timeline\n",
        _timeline(timeline, claims),
        "\n## Serving and monitoring\n",
        _serving(bench_dir, claims, monitors or {}, out_dir),
        "\n## The claims, measured\n",
        _claims(claims),
        "\n## Performance and scale\n",
        _performance(bench_dir, out_dir),
        "",
    ]
    md_text = "\n".join(sections)
    md_path = out_dir / "comparison.md"
    md_path.write_text(md_text)

    body = markdown.markdown(md_text, extensions=["tables"])

    def inline(match: re.Match) -> str:
        data = base64.b64encode((out_dir / match.group(1)).read_bytes()).decode()
        return f'src="data:image/png;base64,{data}"'

    body = re.sub(r'src="([^"]+\.png)"', inline, body)
    html_path = out_dir / "comparison.html"
    html_path.write_text(
        f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title>"
        "<style>body{font-family:sans-serif;max-width:1000px;margin:2em auto}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px}"
        "img{max-width:100%}</style></head><body>" + body + "</body></html>"
    )
    (out_dir / "report.json").write_text(
        json.dumps(
            {s: {"run_id": r.run_id, "metrics": r.metrics} for s, r in runs.items()}, indent=2
        )
    )
    return md_path, html_path
