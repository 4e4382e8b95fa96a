"""The registry listing: every bundle and every version in the ledger, with its status,
metrics and data snapshots (``sentiment models``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sentiment.core.paths import HomeLayout
from sentiment.modeling.bundle_files import metadata_if_readable
from sentiment.release.champion import bundle_versions
from sentiment.release.errors import EvaluationError
from sentiment.release.evaluation import bundle_model_name, evaluation_summary, read_evaluation
from sentiment.release.ledger import EVALUATED, registry_state


def list_models(home: Path) -> list[dict[str, Any]]:
    """List every bundle and every version in the ledger, oldest first.

    Args:
        home: The pipeline home.

    Returns:
        One dict per version: ``version``, ``model``, ``status``, ``champion`` (bool),
        ``bundle`` (whether its directory exists), ``metrics`` (``accuracy``,
        ``accuracy_lower``, ``accuracy_upper``, ``roc_auc``, ..., ``slices`` by source
        with ``rows`` and ``accuracy`` at least, or None if never evaluated),
        ``data_snapshot`` (the snapshot it was trained on), ``test_snapshot`` (the one
        it was last evaluated on), ``evaluated_at`` and ``problem`` (why the
        evaluation cannot be read, or None).

    Raises:
        LedgerCorruptError: If the ledger has a corrupt line.
    """
    home = Path(home)
    state = registry_state(home)
    present = set(bundle_versions(home))
    entries = []
    for version in sorted(present | set(state.events_by_version)):
        events = state.events_by_version.get(version, [])
        directory = HomeLayout(home).bundle(version)
        metrics: dict[str, Any] | None = None
        model: str | None = None
        evaluated_at: str | None = None
        problem: str | None = None
        data_snapshot: str | None = None
        test_snapshot: str | None = None
        if version in present:
            metadata = metadata_if_readable(directory) or {}
            snapshot = metadata.get("data_snapshot")
            data_snapshot = snapshot if isinstance(snapshot, str) else None
            try:
                evaluation = read_evaluation(directory)
            except EvaluationError as error:
                if (directory / "evaluation.json").exists():
                    problem = str(error)
            else:
                metrics = evaluation_summary(evaluation)
                model = evaluation.get("model")
                evaluated_at = evaluation.get("evaluated_at")
                test_snapshot = evaluation["test_data"].get("data_snapshot")
                data_snapshot = data_snapshot or evaluation.get("training_snapshot")
            model = model or bundle_model_name(metadata)
        else:
            problem = f"bundle {directory} is missing"
        for event in reversed(events):
            # A deleted bundle still shows the metrics the ledger recorded for it.
            if metrics is None and event["event"] == EVALUATED and version not in present:
                metrics = event.get("metrics")
            model = model or event.get("model")
        entries.append(
            {
                "version": version,
                "model": model,
                "status": state.status(version),
                "champion": version == state.champion,
                "bundle": version in present,
                "metrics": metrics,
                "data_snapshot": data_snapshot,
                "test_snapshot": test_snapshot,
                "evaluated_at": evaluated_at,
                "problem": problem,
            }
        )
    return entries
