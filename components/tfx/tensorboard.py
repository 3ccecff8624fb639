"""Publish the TFX Trainer's TensorBoard logs under <workdir>/tensorboard/tfx/<dataset>/.

The Keras TensorBoard callback writes into the Trainer's `model_run` artifact, one
folder per execution, where MLMD and components/tfx/mlflow_record.py find them. The
log dir is not moved into the shared tree through the Trainer's custom_config, since
that is part of the cache key: a per-run path would retrain on every run. A relative
symlink per execution, made after the run, gives `make tensorboard` the same view.
"""

from __future__ import annotations

import os
from pathlib import Path


def publish(model_run_uri: str | None, target_dir: Path) -> Path | None:
    """Link `model_run_uri` as target_dir/<execution id>; returns the link (None: no logs).

    A cached rerun reuses the same execution's folder, so its link is already there.
    """
    if not model_run_uri or not Path(model_run_uri).is_dir():
        return None
    target_dir = Path(target_dir)
    target_dir.mkdir(parents=True, exist_ok=True)
    link = target_dir / Path(model_run_uri).name
    if not link.is_symlink() and not link.exists():
        # Relative, so the links survive moving or copying the whole workdir.
        link.symlink_to(os.path.relpath(model_run_uri, target_dir), target_is_directory=True)
    return link
