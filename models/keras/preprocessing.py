"""preprocessing_fn for TFX Transform: the feature engineering, computed over train only.

TFX ships this folder to Transform as a user module: which columns are numeric or
categorical and the class list come from `custom_config`, built from the dataset
contract by pipelines/tfx/pipeline.py; the naming rules from features.py beside it.
"""

from __future__ import annotations

import tensorflow as tf
import tensorflow_transform as tft

from models.keras.features import MISSING_CATEGORY, transformed_name


def _dense(x: tf.Tensor | tf.SparseTensor, default) -> tf.Tensor:
    """[batch, 1] dense values; rows missing the feature get `default`.

    Columns allowed to be missing are VarLen (sparse) in the schema; required ones are
    dense. Both end up as one value per row here.
    """
    if isinstance(x, tf.SparseTensor):
        x = tft.sparse_tensor_to_dense_with_shape(x, [None, 1], default_value=default)
    return tf.reshape(x, [-1, 1])


def _numeric(x: tf.Tensor | tf.SparseTensor) -> tf.Tensor:
    """Impute with the train mean, then z-score; both stats over present values only."""
    x = tf.cast(x, tf.float32)
    mean = tft.mean(x)
    std = tf.sqrt(tft.var(x))
    std = tf.where(std > 0, std, tf.ones_like(std))  # a constant column: no scaling
    values = _dense(x, float("nan"))
    values = tf.where(tf.math.is_nan(values), mean, values)
    return (values - mean) / std


def _categorical(x: tf.Tensor | tf.SparseTensor, name: str) -> tf.Tensor:
    """Vocabulary index (one OOV bucket), missing values mapped to a placeholder first."""
    values = _dense(x, MISSING_CATEGORY)
    values = tf.where(tf.equal(values, ""), MISSING_CATEGORY, values)
    return tft.compute_and_apply_vocabulary(values, num_oov_buckets=1, vocab_filename=name)


def label_index(label: tf.Tensor | tf.SparseTensor, classes: list[str]) -> tf.Tensor:
    """[batch] int64: the position of the label in the contract's class list (-1 unknown).

    A fixed list, not a vocabulary computed from the data, so class i means the same in
    both stacks whatever the row order or class frequencies.
    """
    values = _dense(label, "")
    matches = tf.equal(values, tf.constant(classes)[tf.newaxis, :])
    index = tf.argmax(tf.cast(matches, tf.int64), axis=1)
    return tf.where(tf.reduce_any(matches, axis=1), index, tf.constant(-1, tf.int64))


def preprocessing_fn(inputs: dict, custom_config: dict) -> dict:
    """Transformed features: numerics [batch,1] float32, categoricals [batch,1] int64."""
    outputs = {}
    for name in custom_config["numeric"]:
        outputs[transformed_name(name)] = _numeric(inputs[name])
    for name in custom_config["categorical"]:
        outputs[transformed_name(name)] = _categorical(inputs[name], name)
    label = custom_config["label"]
    outputs[transformed_name(label)] = label_index(inputs[label], custom_config["classes"])
    return outputs
