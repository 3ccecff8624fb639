"""Validate: a Great Expectations suite generated from the contract, run through a
Checkpoint that also renders Data Docs. Any failed expectation stops the pipeline."""

from __future__ import annotations

import json
import logging
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from components.shared.contract import Contract, distinct_values
from components.shared.speedups import modules_hidden

# Optional modules that importing GE probes and this step never uses: the Google Cloud
# clients of its BigQuery, GCS and Secret Manager support, and jsonschema's IRI-format
# checker (reached through altair), which builds a grammar as it imports. Only the TFX
# wing's lock installs them; hidden while GE imports, as in a Lightning-only install
# (docs/lightning.md, "Speed").
UNUSED_OPTIONAL_MODULES = (
    "google.cloud.bigquery",
    "google.cloud.secretmanager",
    "google.cloud.storage",
    "rfc3987_syntax",
)

# GE logs dozens of INFO lines while importing; set the level before the import.
logging.getLogger("great_expectations").setLevel(logging.WARNING)
# GE imports Google's cloud clients where installed, which warn about Python versions.
warnings.filterwarnings("ignore", ".*Google will stop supporting.*", FutureWarning)
with modules_hidden(UNUSED_OPTIONAL_MODULES):
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

# Some GE modules set their own logger to INFO on import (e.g. the ephemeral Data Docs
# site announces its temporary directory); quiet every one of them.
for _name in list(logging.root.manager.loggerDict):
    if _name.startswith("great_expectations"):
        logging.getLogger(_name).setLevel(logging.WARNING)

SUITE_NAME = "contract"
DOCS_SITE = "lightning"

# Every numeric column is parsed to float64 by components.shared.dataset; a column that
# is still object dtype held text that is not a number.
NUMERIC_DTYPES = ["float64", "int64"]


@dataclass(frozen=True)
class Failure:
    expectation: str
    column: str | None
    detail: str

    def __str__(self) -> str:
        where = f"column '{self.column}'" if self.column else "the file"
        return f"{self.expectation} on {where}: {self.detail}"

    @property
    def reason(self) -> str:
        """The short form, for a run's last line: `island: 3 unexpected values ...`."""
        return f"{self.column or 'rows'}: {self.detail}"


@dataclass
class ValidationReport:
    success: bool
    failures: list[Failure]
    results: dict[str, Any]
    docs_dir: Path
    statistics: dict[str, Any] = field(default_factory=dict)

    @property
    def columns(self) -> list[str]:
        """The failing columns, in contract order of first failure."""
        return list(dict.fromkeys(f.column for f in self.failures if f.column))

    @property
    def reasons(self) -> list[str]:
        """One per column and cause, in contract order."""
        return list(dict.fromkeys(f.reason for f in self.failures))


def build_expectations(contract: Contract) -> list[Any]:
    """The expectations the contract implies, nothing hand-written per dataset."""
    E = gx.expectations
    expectations: list[Any] = [
        # A set, not an ordered list: a CSV is read by its header, in any column order.
        E.ExpectTableColumnsToMatchSet(column_set=contract.column_names, exact_match=True),
        E.ExpectTableRowCountToBeBetween(min_value=contract.min_rows),
    ]
    for column in contract.columns:
        expectations.append(E.ExpectColumnToExist(column=column.name))
        # mostly: the share of rows that must be non-null.
        expectations.append(
            E.ExpectColumnValuesToNotBeNull(
                column=column.name, mostly=round(1.0 - column.max_null_fraction, 6)
            )
        )
        if column.is_numeric:
            expectations += [
                E.ExpectColumnValuesToBeInTypeList(column=column.name, type_list=NUMERIC_DTYPES),
                E.ExpectColumnValuesToBeBetween(
                    column=column.name, min_value=column.min, max_value=column.max
                ),
            ]
        elif column.type == "categorical":
            # A `text` column (free text, dates) has no domain: presence and nulls only.
            expectations.append(
                E.ExpectColumnValuesToBeInSet(column=column.name, value_set=list(column.domain))
            )
            if column.role != "ignored":
                least, most = distinct_values(column, contract)
                expectations.append(
                    E.ExpectColumnUniqueValueCountToBeBetween(
                        column=column.name, min_value=least, max_value=most
                    )
                )
    return expectations


def _context(docs_dir: Path) -> Any:
    """An ephemeral context (nothing to commit or clean up) whose Data Docs site writes
    into the run's workdir instead of a temporary directory."""
    context = gx.get_context(mode="ephemeral")
    # GE draws tqdm bars on stderr for every metric batch: noise in CI logs.
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    for site in list(context.variables.data_docs_sites or {}):
        context.delete_data_docs_site(site)
    context.add_data_docs_site(
        DOCS_SITE,
        {
            "class_name": "SiteBuilder",
            "store_backend": {
                "class_name": "TupleFilesystemStoreBackend",
                "base_directory": str(docs_dir),
            },
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        },
    )
    return context


def _exception_message(info: dict[str, Any]) -> str | None:
    """GE puts one exception record per failed metric, sometimes nested by metric id."""
    records = [info] if "raised_exception" in info else list(info.values())
    for record in records:
        if isinstance(record, dict) and (
            record.get("raised_exception") or record.get("exception_message")
        ):
            lines = str(record.get("exception_message") or "error").strip().splitlines()
            return lines[-1] if lines else "error"
    return None


def _non_numeric(frame: pd.DataFrame, column: str) -> list[str]:
    values = frame[column].dropna()
    bad = values[pd.to_numeric(values, errors="coerce").isna()]
    return [str(v) for v in bad.unique()[:3]]


def _detail(result: Any, frame: pd.DataFrame) -> str:
    config = result.expectation_config
    column = config.kwargs.get("column")
    if column and column not in frame.columns:
        return "column is missing"
    if config.type == "expect_column_values_to_be_in_type_list" and column:
        return (
            f"dtype {frame[column].dtype}, not numeric: text such as "
            f"{_non_numeric(frame, column)}"
        )
    if config.type == "expect_table_row_count_to_be_between":
        # Say "rows", as the TFX pipeline's min_rows check does, not a bare number.
        observed = (result.result or {}).get("observed_value")
        return f"{observed} rows; the contract asks for at least {config.kwargs.get('min_value')}"
    if config.type == "expect_column_unique_value_count_to_be_between":
        observed = (result.result or {}).get("observed_value")
        return (
            f"{observed} distinct values; the contract asks for {config.kwargs.get('min_value')}"
            f" to {config.kwargs.get('max_value')}"
        )
    message = _exception_message(result.exception_info or {})
    if message:
        return f"could not be evaluated ({message})"
    res = result.result or {}
    if "unexpected_count" in res:
        examples = list(dict.fromkeys(map(str, res.get("partial_unexpected_list") or [])))
        shown = ", ".join(repr(v) for v in examples[:3])
        pct = res.get("unexpected_percent")
        pct_text = f" ({pct:.1f}%)" if isinstance(pct, int | float) else ""
        return f"{res['unexpected_count']} unexpected values{pct_text}" + (
            f", e.g. {shown}" if shown else ""
        )
    if "observed_value" in res:
        return f"observed {res['observed_value']!r}"
    return "failed"


def _failures(results: Any, frame: pd.DataFrame, contract: Contract) -> list[Failure]:
    """One failure per column and cause: a missing column is reported once as missing,
    not once more by every expectation on it."""
    missing = [c for c in contract.column_names if c not in frame.columns]
    failures = [
        Failure("expect_table_columns_to_match_set", c, "missing from the file") for c in missing
    ]
    failures += [
        Failure("expect_table_columns_to_match_set", c, "not in the contract")
        for c in frame.columns
        if c not in contract.column_names
    ]
    for result in results.results:
        config = result.expectation_config
        column = config.kwargs.get("column")
        if (
            result.success
            or config.type == "expect_table_columns_to_match_set"
            or column in missing
        ):
            continue
        failures.append(Failure(config.type, column, _detail(result, frame)))
    # GE returns results in no useful order: the file first, then contract column order.
    order = {name: i for i, name in enumerate(contract.column_names)}
    return sorted(failures, key=lambda f: (f.column is not None, order.get(f.column, len(order))))


def validate(frame: pd.DataFrame, contract: Contract, out_dir: Path) -> ValidationReport:
    """Run the generated suite on `frame`; Data Docs go to <out_dir>/data_docs."""
    docs_dir = Path(out_dir) / "data_docs"
    context = _context(docs_dir)
    batch = (
        context.data_sources.add_pandas(contract.name)
        .add_dataframe_asset("batch")
        .add_batch_definition_whole_dataframe("whole")
    )
    # A suite belongs to a context: add it first, then its expectations.
    suite = context.suites.add(gx.ExpectationSuite(name=SUITE_NAME))
    for expectation in build_expectations(contract):
        suite.add_expectation(expectation)
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(name=f"{contract.name}-contract", data=batch, suite=suite)
    )
    checkpoint = context.checkpoints.add(
        gx.Checkpoint(
            name=f"{contract.name}-lightning",
            validation_definitions=[definition],
            actions=[gx.checkpoint.UpdateDataDocsAction(name="data_docs", site_names=[DOCS_SITE])],
            result_format="SUMMARY",
        )
    )
    outcome = checkpoint.run(batch_parameters={"dataframe": frame})
    (results,) = outcome.run_results.values()
    as_json = json.loads(json.dumps(results.to_json_dict(), default=str))
    return ValidationReport(
        success=bool(outcome.success),
        failures=_failures(results, frame, contract),
        results=as_json,
        docs_dir=docs_dir,
        statistics=dict(results.statistics or {}),
    )
