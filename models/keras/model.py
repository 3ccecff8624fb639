"""Trainer module for the TFX pipeline: the contract's MLP in Keras 3, and its signatures.

TFX ships this folder to Trainer as a user module: features, classes and
hyperparameters arrive in `custom_config`; the naming rules come from features.py.

The SavedModel carries three signatures:
  serving_default     serialized tf.Example (no label) -> class probabilities (TFMA, TF Serving)
  transform_features  serialized tf.Example -> transformed features (TFMA preprocessing)
  serving_raw         one tensor per raw feature column -> probabilities and class
  serving_transformed transformed features -> probabilities: the network alone, for
                      edge export (components/tfx/edge.py), whose runtime cannot run TFT
"""

from __future__ import annotations

import keras
import tensorflow as tf
import tensorflow_transform as tft
from tensorflow.python.autograph.core import config as autograph_config
from tfx.components.trainer.fn_args_utils import FnArgs
from tfx_bsl.public import tfxio

from models.keras.features import PREDICTIONS, transformed_name

# TF 2.16 exempts `keras` from AutoGraph but not `tf_keras`, the Keras 2 that TFT's
# transform layer is built on, so saving the model transpiled tf_keras's own Layer and
# Model __call__ (3 of the Trainer's 9 s here). Exempt it the same way: tf_keras runs in
# graph mode without conversion, and a layer's own `call` is still converted as before.
_SKIP_TF_KERAS = autograph_config.DoNotConvert("tf_keras")
if str(_SKIP_TF_KERAS) not in map(str, autograph_config.CONVERSION_RULES):
    autograph_config.CONVERSION_RULES = (_SKIP_TF_KERAS, *autograph_config.CONVERSION_RULES)

EXAMPLES = tf.TensorSpec([None], tf.string, name="examples")
# tfx_bsl's own default buffer when TensorFlowDatasetOptions shuffles.
SHUFFLE_BUFFER_ROWS = 10_000


def _dataset(
    files: list[str],
    fn_args: FnArgs,
    tf_out: tft.TFTransformOutput,
    tft_layer,
    cfg: dict,
    shuffle: bool,
) -> tf.data.Dataset:
    """(transformed features, label index) batches of the raw examples in `files`,
    through `tft_layer`, the transform graph the model carries (`make_signatures`).

    Transform does not materialize the window (`materialize=False`, pipelines/tfx): the
    first epoch maps the raw batches through the transform graph, as serving does, and
    caches the result in memory; each later epoch reshuffles the cached rows. Not
    mapping every epoch: each new iterator over the transform graph re-initializes it.
    """
    # One pass per epoch: Keras re-iterates a finite dataset each epoch.
    options = tfxio.TensorFlowDatasetOptions(
        batch_size=cfg["batch_size"], num_epochs=1, shuffle=False
    )
    raw = fn_args.data_accessor.tf_dataset_factory(files, options, tf_out.raw_metadata.schema)
    label = transformed_name(cfg["label"])

    def features_and_label(raw_features: dict) -> tuple[dict, tf.Tensor]:
        features = tft_layer(raw_features)
        return features, features.pop(label)

    transformed = raw.map(features_and_label, num_parallel_calls=tf.data.AUTOTUNE).cache()
    if not shuffle:
        return transformed
    return (
        transformed.unbatch()
        .shuffle(SHUFFLE_BUFFER_ROWS, seed=cfg["seed"], reshuffle_each_iteration=True)
        .batch(cfg["batch_size"])
    )


def build_model(cfg: dict, tf_out: tft.TFTransformOutput) -> keras.Model:
    """Dense(h, relu) for h in hidden_units, softmax over the classes (as the Lightning MLP)."""
    inputs, parts = {}, []
    for name in cfg["numeric"]:
        inputs[transformed_name(name)] = keras.Input(
            shape=(1,), name=transformed_name(name), dtype="float32"
        )
        parts.append(inputs[transformed_name(name)])
    for name in cfg["categorical"]:
        inputs[transformed_name(name)] = keras.Input(
            shape=(1,), name=transformed_name(name), dtype="int64"
        )
        # +1: the OOV bucket of compute_and_apply_vocabulary.
        depth = tf_out.vocabulary_size_by_name(name) + 1
        one_hot = keras.layers.CategoryEncoding(depth, output_mode="one_hot")(
            inputs[transformed_name(name)]
        )
        parts.append(keras.layers.Flatten()(one_hot))  # [batch, 1, depth] -> [batch, depth]
    x = keras.layers.Concatenate()(parts)
    for units in cfg["hidden_units"]:
        x = keras.layers.Dense(units, activation="relu")(x)
    outputs = keras.layers.Dense(len(cfg["classes"]), activation="softmax")(x)
    model = keras.Model(inputs=inputs, outputs=outputs)
    model.compile(
        optimizer=keras.optimizers.Adam(cfg["learning_rate"]),
        loss=keras.losses.SparseCategoricalCrossentropy(),
        metrics=[keras.metrics.SparseCategoricalAccuracy()],
    )
    return model


def _raw_input(value: tf.Tensor, spec) -> tf.Tensor | tf.SparseTensor:
    """A raw column as the transform graph expects it; NaN / "" mean missing."""
    if value.dtype == tf.string:
        present = tf.not_equal(value, "")
    else:
        present = tf.logical_not(tf.math.is_nan(value))
    if isinstance(spec, tf.io.VarLenFeature):
        rows = tf.where(present)  # [n, 1] row indices of present values
        indices = tf.concat([rows, tf.zeros_like(rows)], axis=1)
        values = tf.cast(tf.boolean_mask(value, present), spec.dtype)
        shape = tf.stack([tf.shape(value, out_type=tf.int64)[0], tf.constant(1, tf.int64)])
        return tf.SparseTensor(indices, values, shape)
    # A required column: the schema forbids missing values, so no masking.
    return tf.reshape(tf.cast(value, spec.dtype), [-1, *spec.shape])


def make_signatures(model: keras.Model, tf_out: tft.TFTransformOutput, cfg: dict) -> dict:
    """The SavedModel's signatures (module docstring), around `model.tft_layer`.

    `autograph=False`: their Python branches are on static values only, and AutoGraph
    would otherwise rewrite each one (and what it calls) while saving: about 1 s of the
    Trainer here; exempting tf_keras (above) saves the other 3 s.
    """
    raw_spec = tf_out.raw_feature_spec()
    serving_spec = {k: v for k, v in raw_spec.items() if k != cfg["label"]}
    classes = tf.constant(cfg["classes"])

    @tf.function(input_signature=[EXAMPLES], autograph=False)
    def serve_examples(serialized):
        features = tf.io.parse_example(serialized, serving_spec)
        return {PREDICTIONS: model(model.tft_layer(features))}

    @tf.function(input_signature=[EXAMPLES], autograph=False)
    def transform_features(serialized):
        return model.tft_layer(tf.io.parse_example(serialized, raw_spec))

    raw_columns = cfg["numeric"] + cfg["categorical"]
    raw_signature = {
        name: tf.TensorSpec([None], tf.float32 if name in cfg["numeric"] else tf.string, name=name)
        for name in raw_columns
    }

    @tf.function(input_signature=[raw_signature], autograph=False)
    def serve_raw(columns):
        features = {name: _raw_input(columns[name], raw_spec[name]) for name in raw_columns}
        probabilities = model(model.tft_layer(features))
        index = tf.argmax(probabilities, axis=1)
        return {
            PREDICTIONS: probabilities,
            "class_index": index,
            "class": tf.gather(classes, index),
        }

    transformed_signature = {
        transformed_name(name): tf.TensorSpec(
            [None, 1],
            tf.float32 if name in cfg["numeric"] else tf.int64,
            name=transformed_name(name),
        )
        for name in raw_columns
    }

    @tf.function(input_signature=[transformed_signature], autograph=False)
    def serve_transformed(features):
        return {PREDICTIONS: model(features)}

    return {
        "serving_default": serve_examples,
        "transform_features": transform_features,
        "serving_raw": serve_raw,
        "serving_transformed": serve_transformed,
    }


def run_fn(fn_args: FnArgs) -> None:
    """Train on the train split, transformed, early-stop on eval loss, save with signatures."""
    cfg = fn_args.custom_config
    keras.utils.set_random_seed(cfg["seed"])
    tf_out = tft.TFTransformOutput(fn_args.transform_output)
    tft_layer = tf_out.transform_features_layer()
    train = _dataset(fn_args.train_files, fn_args, tf_out, tft_layer, cfg, shuffle=True)
    evaluation = _dataset(fn_args.eval_files, fn_args, tf_out, tft_layer, cfg, shuffle=False)
    model = build_model(cfg, tf_out)
    # Attached to the model so the transform graph's assets are saved with it.
    model.tft_layer = tft_layer
    model.fit(
        train,
        validation_data=evaluation,
        epochs=cfg["epochs"],
        verbose=cfg.get("verbose", 0),
        callbacks=[
            keras.callbacks.EarlyStopping(
                monitor="val_loss",
                patience=cfg["early_stopping_patience"],
                restore_best_weights=True,
            ),
            keras.callbacks.TensorBoard(log_dir=fn_args.model_run_dir),
        ],
    )
    signatures = make_signatures(model, tf_out, cfg)
    tf.saved_model.save(model, fn_args.serving_model_dir, signatures=signatures)
