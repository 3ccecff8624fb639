"""Quick checks of the curated TFDV schema generated from the contract (no pipeline run)."""

from __future__ import annotations

from tensorflow_metadata.proto.v0 import schema_pb2

from components.tfx import schema_path
from components.tfx.schema import build_schema, schema_text


def test_committed_schema_matches_contract(contract):
    # Regenerate with: python -m components.tfx.schema data/penguins.yaml
    assert schema_path(contract).read_text() == schema_text(contract)


def test_schema_encodes_every_contract_rule(contract):
    schema = build_schema(contract)
    features = {f.name: f for f in schema.feature}
    assert list(features) == contract.column_names  # ignored columns are validated too
    for column in contract.columns:
        feature = features[column.name]
        assert feature.presence.min_fraction == 1.0 - column.max_null_fraction
        assert feature.presence.min_count == 1  # a dropped column is an anomaly
        if column.type == "int":
            assert feature.type == schema_pb2.INT
            assert (feature.int_domain.min, feature.int_domain.max) == (column.min, column.max)
        elif column.type == "float":
            assert feature.type == schema_pb2.FLOAT
            assert feature.float_domain.min == column.min
            assert feature.float_domain.max == column.max
        else:
            assert feature.type == schema_pb2.BYTES
            assert tuple(feature.string_domain.value) == column.domain


def _examples_file(frame, path):
    """tf.Examples as NullAwareCsvExampleGen writes them: empty cells are absent features."""
    import tensorflow as tf

    with tf.io.TFRecordWriter(str(path)) as writer:
        for row in frame.to_dict("records"):
            feature = {}
            for name, value in row.items():
                if value is None or value != value:  # None or NaN: a missing cell
                    continue
                if isinstance(value, str):
                    feature[name] = tf.train.Feature(
                        bytes_list=tf.train.BytesList(value=[value.encode()])
                    )
                elif float(value).is_integer() and name not in ("bill_length_mm", "bill_depth_mm"):
                    feature[name] = tf.train.Feature(
                        int64_list=tf.train.Int64List(value=[int(value)])
                    )
                else:
                    feature[name] = tf.train.Feature(float_list=tf.train.FloatList(value=[value]))
            writer.write(
                tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()
            )
    return path


def _anomalous_features(contract, frame, tmp_path) -> dict[str, str]:
    import tensorflow_data_validation as tfdv

    stats = tfdv.generate_statistics_from_tfrecord(str(_examples_file(frame, tmp_path / "x.tfr")))
    anomalies = tfdv.validate_statistics(stats, build_schema(contract))
    return {name: info.short_description for name, info in anomalies.anomaly_info.items()}


def test_schema_flags_too_many_nulls_and_extra_columns(contract, tmp_path):
    from components.shared.dataset import load_split

    frame = load_split(contract.path, contract).train
    assert _anomalous_features(contract, frame, tmp_path) == {}

    nulls = frame.copy()
    nulls.loc[nulls.index % 4 == 0, "sex"] = None  # 25% missing, the contract allows 10%
    nulls["colour"] = "blue"
    found = _anomalous_features(contract, nulls, tmp_path)
    assert set(found) == {"sex", "colour"}, found
