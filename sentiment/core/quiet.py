"""Importing TensorFlow without its start-up lines on the terminal or in worker logs.

``TF_CPP_MIN_LOG_LEVEL=3`` and ``TF_ENABLE_ONEDNN_OPTS=0`` silence most of them, but
TensorFlow 2.21 still writes "All log messages before absl::InitializeLog()" and the
"Could not find cuda drivers" line to file descriptor 2 before its logging starts, so
the import itself runs with that descriptor pointed at /dev/null.
"""

from __future__ import annotations

import os
import sys
import threading

QUIET_TENSORFLOW_ENVIRONMENT = {"TF_CPP_MIN_LOG_LEVEL": "3", "TF_ENABLE_ONEDNN_OPTS": "0"}
_lock = threading.Lock()


def quiet_tensorflow_environment() -> None:
    """Set TensorFlow's log settings unless the user chose their own."""
    for name, value in QUIET_TENSORFLOW_ENVIRONMENT.items():
        os.environ.setdefault(name, value)


def import_tensorflow_quietly() -> None:
    """Import TensorFlow and Keras once, with fd 2 silenced for the import only.

    Python exceptions still propagate (their traceback prints after fd 2 is back);
    whatever other threads write to stderr during the import is lost from the terminal,
    never from Prefect's API logs.
    """
    if "tensorflow" in sys.modules:
        return
    quiet_tensorflow_environment()
    with _lock:
        if "tensorflow" in sys.modules:
            return
        sys.stderr.flush()
        saved = os.dup(2)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        try:
            import keras  # noqa: F401
            import tensorflow  # noqa: F401
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            os.close(devnull)
