"""Steps of the Lightning + MLflow pipeline, one module per step (wired by
pipelines/lightning_pipeline.py). Nothing here imports TFX or TensorFlow."""
