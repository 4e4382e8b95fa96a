"""Flow run names from the run's settings: ``train-nbsvm``, ``retrain-nbsvm-2026-12-07``."""

from __future__ import annotations

import datetime
from collections.abc import Callable

from prefect.runtime import flow_run

from sentiment.modeling.config import DEFAULT_MODEL


def _model() -> str:
    # A deployment's run holds its parameters as JSON until they are validated.
    training = (flow_run.parameters or {}).get("training")
    if isinstance(training, dict):
        return training.get("model") or DEFAULT_MODEL
    return getattr(training, "model", None) or DEFAULT_MODEL


def model_run_name(stage: str) -> Callable[[], str]:
    """A ``flow_run_name`` for ``stage``: ``<stage>-<the training settings' model>``."""
    return lambda: f"{stage}-{_model()}"


def retrain_run_name() -> str:
    """``retrain-nbsvm-2026-12-07``: the model and the (UTC) day it ran."""
    return f"retrain-{_model()}-{datetime.datetime.now(datetime.UTC).date().isoformat()}"
