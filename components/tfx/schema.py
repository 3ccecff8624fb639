"""The curated TFDV schema, generated from the dataset contract.

The contract is the one description of the data; the schema is derived from it so that
TFDV's ExampleValidator flags exactly what the contract forbids: a missing or extra
column, a wrong type, values out of range, unseen categories, too many missing values, and
a degenerate split (a label missing classes, a categorical feature with one value).
Each feature also carries the skew comparator `monitor` applies to served traffic, with
the contract's drift thresholds (components/tfx/monitor.py).
Run `python -m components.tfx.schema data/penguins.yaml` to rewrite the committed file.
"""

from __future__ import annotations

import sys
from pathlib import Path

from google.protobuf import text_format
from tensorflow_metadata.proto.v0 import schema_pb2

from components.shared.companions import fresh, stamped, write_companions
from components.shared.contract import Column, Contract, distinct_values
from components.tfx import schema_path

# The contract sections the schema is made from (a changed accuracy gate leaves it fresh).
MADE_FROM = ("columns", "drift")
COMMAND = "python -m components.tfx.schema {contract}"


def _feature(column: Column, contract: Contract) -> schema_pb2.Feature:
    feature = schema_pb2.Feature(name=column.name)
    # The null-aware example gen drops empty cells, so a missing value is an absent
    # feature and `presence` counts exactly the non-missing rows.
    feature.presence.min_fraction = 1.0 - column.max_null_fraction
    feature.presence.min_count = 1
    # One value per cell: a CSV cell never holds a list.
    feature.value_count.min = 1
    feature.value_count.max = 1
    if column.type == "int":
        feature.type = schema_pb2.INT
        feature.int_domain.min = int(column.min)
        feature.int_domain.max = int(column.max)
    elif column.type == "float":
        feature.type = schema_pb2.FLOAT
        feature.float_domain.min = float(column.min)
        feature.float_domain.max = float(column.max)
    elif column.type == "text":
        # Free text or dates (role: ignored): any string; presence is still checked.
        feature.type = schema_pb2.BYTES
    else:
        feature.type = schema_pb2.BYTES
        feature.string_domain.name = column.name
        feature.string_domain.value.extend(column.domain)
        if column.role != "ignored":
            # A degenerate batch: a label missing classes, a feature with one value.
            least, most = distinct_values(column, contract)
            feature.unique_constraints.min = least
            feature.unique_constraints.max = most
    if column.role == "feature":
        # TFDV's measures: L-infinity distance between category frequencies, Jensen-Shannon
        # divergence between histograms.
        if column.is_numeric:
            threshold = contract.max_jensen_shannon_divergence
            feature.skew_comparator.jensen_shannon_divergence.threshold = threshold
        elif column.domain:
            feature.skew_comparator.infinity_norm.threshold = contract.max_category_shift
    # The role is recorded for humans only: `ignored` columns are validated like the
    # rest, and the label is validated too (serving signatures drop it explicitly).
    feature.annotation.tag.append(f"role:{column.role}")
    return feature


def build_schema(contract: Contract) -> schema_pb2.Schema:
    """The TFDV schema the contract implies, one feature per CSV column, in CSV order."""
    schema = schema_pb2.Schema()
    schema.feature.extend(_feature(column, contract) for column in contract.columns)
    return schema


def schema_text(contract: Contract) -> str:
    """The schema as the committed .pbtxt text, with a do-not-edit header and the
    stamp that says which contract it was made from (components/shared/companions.py)."""

    def render(stamp: str) -> str:
        header = (
            f"# Generated from {contract.source.name} by "
            f"`python -m components.tfx.schema`; do not edit by hand.\n# {stamp}\n"
        )
        return header + text_format.MessageToString(build_schema(contract))

    return stamped(contract, MADE_FROM, render)


def fresh_companion(contract: Contract) -> Path:
    """The schema beside the contract, regenerated first when the contract changed."""
    command = COMMAND.format(contract=contract.source)
    return fresh(schema_path(contract), contract, MADE_FROM, write_companion, command)


def write_companion(contract: Contract, path: Path | None = None) -> Path:
    """Write the schema beside the contract (schema_path(contract)) or to `path`."""
    target = Path(path) if path is not None else schema_path(contract)
    target.write_text(schema_text(contract))
    return target


def main(argv: list[str]) -> int:
    return write_companions(argv, "components.tfx.schema", write_companion)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
