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


def mark_run(outcome: str, tag: str | None = None) -> None:
    """Append ``-<outcome>`` to the running flow run's name and tag it (``tag``, else
    ``outcome``), so the run's decision shows wherever runs are listed, without opening
    one. A name is never worth failing the run: a refused update is only logged."""
    from prefect.client.orchestration import get_client
    from prefect.context import FlowRunContext
    from prefect.logging import get_run_logger

    context = FlowRunContext.get()
    run = context.flow_run if context else None
    if run is None:
        return
    name = run.name if run.name.endswith(f"-{outcome}") else f"{run.name}-{outcome}"
    tags = sorted({*run.tags, tag or outcome})
    try:
        with get_client(sync_client=True) as client:
            client.update_flow_run(run.id, name=name, tags=tags)
    except Exception as error:
        get_run_logger().warning("Could not rename the run to %s: %s", name, error)
        return
    run.name, run.tags = name, tags
