"""Which bundle a scoring run uses, resolved once per run into one object."""

from __future__ import annotations

from pathlib import Path

from sentiment.modeling.resolved_bundle import ResolvedBundle, read_bundle
from sentiment.release.champion import scoring_bundle


def resolve_scoring_bundle(
    home: Path, model: str | None = None, bundle: str | Path | None = None
) -> ResolvedBundle:
    """The bundle to score with, read once: ``--bundle`` (a directory or URL, verified
    against its checksums), else ``--model VERSION`` or the champion of the home's
    registry. Nothing loads the model here.

    Args:
        home: The pipeline home.
        model: A registered version (``latest``: the newest bundle), or None for the
            champion.
        bundle: An explicit bundle directory or URL instead.

    Returns:
        Its version, location, local directory, source, metadata, threshold,
        calibration and training profile (the drift reference).

    Raises:
        ConfigError: If both a model and a bundle are named.
        StageOutputMissingError: If neither is named and there is no champion.
        EvaluationError: If the named version is not a bundle of this home.
        DataError: If the bundle is incomplete or changed since it was saved.
    """
    _, location, source = scoring_bundle(Path(home), model, bundle)
    return read_bundle(location, source)  # type: ignore[arg-type]
