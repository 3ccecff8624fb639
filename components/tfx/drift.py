"""Drift before training: TFX's DistributionValidator compares the batch's train
statistics (StatisticsGen) with the statistics of the contract's own data file (and, for
data in spans, a second one with the previous span's train statistics),
with TFDV's comparators: L-infinity over `drift.max_category_shift` for categorical
columns, Jensen-Shannon divergence over `drift.max_jensen_shannon_divergence` for
numeric ones. The Lightning wing applies the same two distances to the same batch.

The reference statistics are written once per data file, by TFDV, as an
ExampleStatistics artifact folder the pipeline imports (an Importer keyed on its path,
so an unchanged reference keeps TFX's cache).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

from components.shared.contract import Contract
from components.shared.dataset import file_sha256, load_split

# The split name of the imported reference, and the pairs compared with it: the batch's
# train rows only, as in the Lightning wing. The eval rows are a random quarter of the
# batch by row hash, too few for a histogram distance (docs/day-two.md, "Drift").
REFERENCE_SPLIT = "train"
SPLIT_PAIRS = [("train", REFERENCE_SPLIT)]
# The arriving span against the span before it, train rows against train rows.
PREVIOUS_SPAN_PAIRS = [("train", "train")]


def comparator_config(contract: Contract):  # noqa: ANN201 - a DistributionValidatorConfig
    """The contract's drift thresholds as DistributionValidator's per-feature comparators."""
    from tensorflow_metadata.proto.v0 import path_pb2
    from tfx.proto import distribution_validator_pb2 as dv

    config = dv.DistributionValidatorConfig()
    for column in contract.drift_checked:
        feature = config.default_slice_config.feature.add()
        feature.path.CopyFrom(path_pb2.Path(step=[column.name]))
        comparator = feature.distribution_comparator
        if column.is_numeric:
            comparator.jensen_shannon_divergence.threshold = contract.max_jensen_shannon_divergence
        else:
            comparator.infinity_norm.threshold = contract.max_category_shift
    return config


def reference_statistics(contract: Contract, staged_root: Path) -> Path:
    """An ExampleStatistics folder (<dir>/Split-train/FeatureStats.pb) holding TFDV's
    statistics of the contract's data file, under `staged_root`, named by what it is
    made of; written once."""
    import tensorflow_data_validation as tfdv

    columns = [c.name for c in contract.drift_checked]
    key = json.dumps([file_sha256(contract.path), columns, tfdv.__version__])
    target = Path(staged_root) / f"reference-{hashlib.sha256(key.encode()).hexdigest()[:16]}"
    stats_file = target / f"Split-{REFERENCE_SPLIT}" / "FeatureStats.pb"
    if stats_file.exists():
        return target
    rows = load_split(contract.path, contract).rows
    frame = rows[[c for c in columns if c in rows]].reset_index(drop=True)
    statistics = tfdv.generate_statistics_from_dataframe(frame)
    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)  # left by a killed run
    (staging / f"Split-{REFERENCE_SPLIT}").mkdir(parents=True)
    # StatisticsGen's own format: a binary DatasetFeatureStatisticsList.
    (staging / stats_file.relative_to(target)).write_bytes(statistics.SerializeToString())
    staging.rename(target)
    return target
