"""What must hold before TFX is first imported: the runner imports this module first.

Imported for its effects, so the CLI can register the wing's subcommand without them.
"""

import logging
import os
import sys
import warnings

from components.shared import speedups

_VERBOSE = logging.getLogger().isEnabledFor(logging.DEBUG)
# TF's C++ logs are quiet unless asked for (--verbose). Level 3, not 2: importing TF
# logs three ERROR lines ("Unable to register cuFFT/cuDNN/cuBLAS factory") on a machine
# without CUDA, on every run; a real failure still raises in Python.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1" if _VERBOSE else "3")
# google-cloud libraries pulled in by TFX warn about Python versions on every import.
warnings.filterwarnings("ignore", category=FutureWarning, module="google.api_core")
# Importing Beam/TFMA logs at INFO; quiet it unless the CLI asked for DEBUG (--verbose).
if not _VERBOSE:
    for _name in ("", "absl", "apache_beam", "tensorflow", "tfx"):
        logging.getLogger(_name).setLevel(logging.WARNING)
# Beam 2.74's RunInference model manager imports torch at import time; tfx.components
# reaches it through BulkInferrer even though no component here runs inference. Beam
# treats that module as optional (apache_beam/ml/inference/base.py: `except ImportError:
# ModelManager = None`), so it is left out unless already loaded (docs/tfx.md, "Speed").
if speedups.enabled("module-stubs"):
    sys.modules.setdefault("apache_beam.ml.inference.model_manager", None)  # type: ignore[arg-type]
