"""Same batch, same drift verdict in both stacks: the Lightning wing's check against
TFDV's own validation with the comparators the TFX wing's DistributionValidator uses.

Needs both wings (skipped in a project that dropped one).
"""

from __future__ import annotations

import pandas as pd
import pytest

from components.shared.dataset import load_split

lightning_drift = pytest.importorskip("components.lightning.drift")
tfx_drift = pytest.importorskip("components.tfx.drift")
tfdv = pytest.importorskip("tensorflow_data_validation")


def _tfdv_drifted(batch: pd.DataFrame, contract, reference_dir) -> dict[str, float]:  # noqa: ANN001
    """What DistributionValidator's executor does per split pair: a schema inferred from
    the reference with the comparators, then TFDV's validation against it."""
    columns = [c.name for c in contract.columns if c.role != "ignored"]
    reference = tfdv.load_stats_binary(str(reference_dir / "Split-train" / "FeatureStats.pb"))
    schema = tfdv.infer_schema(reference)
    for feature in tfx_drift.comparator_config(contract).default_slice_config.feature:
        tfdv.get_feature(schema, feature.path.step[0]).drift_comparator.CopyFrom(
            feature.distribution_comparator
        )
    stats = tfdv.generate_statistics_from_dataframe(batch[columns].reset_index(drop=True))
    anomalies = tfdv.validate_statistics(stats, schema, previous_statistics=reference)
    return {
        info.path.step[0]: max(m.value for m in info.drift_measurements)
        for info in anomalies.drift_skew_info
        if any(m.value > m.threshold for m in info.drift_measurements)
    }


def test_both_stacks_flag_the_same_features_of_the_same_batch(contract, tmp_path):
    rows = load_split(contract.path, contract).rows
    shifted = rows.copy()
    shifted["bill_depth_mm"] = shifted["bill_depth_mm"] + 3.0
    batches = {
        **{f"year {y}": rows[rows["year"] == y] for y in (2007, 2008, 2009)},
        "bill_depth_mm + 3 mm": shifted,
        "Biscoe only": rows[rows["island"] == "Biscoe"],
        "Adelie only": rows[rows["species"] == "Adelie"],
    }
    reference_dir = tfx_drift.reference_statistics(contract, tmp_path)
    reference = lightning_drift.load_reference(contract)
    verdicts = {}
    for name, batch in batches.items():
        findings, _ = lightning_drift.check_drift(batch, contract, reference)
        lightning = {f.column: f.value for f in findings}
        tfx = _tfdv_drifted(batch, contract, reference_dir)
        assert set(lightning) == set(tfx), (name, lightning, tfx)
        for feature, value in lightning.items():  # the same measure, computed twice
            assert value == pytest.approx(tfx[feature], abs=0.05), (name, feature)
        verdicts[name] = set(tfx)
    assert verdicts["year 2008"] == set()
    assert verdicts["bill_depth_mm + 3 mm"] == {"bill_depth_mm"}
    assert {"island", "species"} <= verdicts["Biscoe only"]
