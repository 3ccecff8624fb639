"""Same batch, same drift verdict in both stacks: the Lightning wing's check against
TFDV's own validation with the comparators the TFX wing's DistributionValidator uses.

Needs both wings (skipped in a project that dropped one).
"""

from __future__ import annotations

import pandas as pd
import pytest

from components.shared.contract import REPO_ROOT
from components.shared.dataset import load_split

lightning_drift = pytest.importorskip("components.lightning.drift")
tfx_drift = pytest.importorskip("components.tfx.drift")
tfdv = pytest.importorskip("tensorflow_data_validation")


def _tfdv_drifted(batch: pd.DataFrame, contract, reference_dir) -> dict[str, float]:  # noqa: ANN001
    """What DistributionValidator's executor does per split pair: a schema inferred from
    the reference with the comparators, then TFDV's validation against it."""
    reference = tfdv.load_stats_binary(str(reference_dir / "Split-train" / "FeatureStats.pb"))
    return _tfdv_drifted_from(batch, contract, reference)


def _tfdv_drifted_from(batch: pd.DataFrame, contract, reference) -> dict[str, float]:  # noqa: ANN001
    columns = [c.name for c in contract.columns if c.role != "ignored"]
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


def test_both_stacks_judge_a_span_against_the_previous_one_alike(contract):
    """The check against the previous span: the arriving span's train rows against the
    previous span's, TFDV's way (the TFX wing's second DistributionValidator) and the
    Lightning wing's, on the shipped spans as they are and with 2009 moved."""
    from components.shared.dataset import Split, load_split

    split = load_split(REPO_ROOT / "data" / "penguins-spans", contract)
    columns = [c.name for c in contract.drift_checked]
    cases = {"as shipped": split}
    moved = split.rows.copy()
    train_2009 = split.span_rows(2009)[0].index  # positions in `rows`: the train part is first
    moved.loc[train_2009, "bill_depth_mm"] += 3.0
    cases["2009 3 mm deeper"] = Split(moved, split.n_train, "", split.spans)
    verdicts = {}
    for name, case in cases.items():
        previous, arrived = (case.span_rows(p.number)[0] for p in case.spans[-2:])
        findings, _ = lightning_drift.check_previous_span(case, contract)
        lightning = {f.column: f.value for f in findings}
        assert all(f.against for f in findings)
        reference = tfdv.generate_statistics_from_dataframe(
            previous[columns].reset_index(drop=True)
        )
        tfx = _tfdv_drifted_from(arrived, contract, reference)
        assert set(lightning) == set(tfx), (name, lightning, tfx)
        for feature, value in lightning.items():
            assert value == pytest.approx(tfx[feature], abs=0.05), (name, feature)
        verdicts[name] = set(tfx)
    assert verdicts == {"as shipped": set(), "2009 3 mm deeper": {"bill_depth_mm"}}
