"""Which bundle to use: the champion, a named version, or an explicit bundle path.

Light on purpose (the ledger and the bundle's files, no gate and no metrics), so scoring
finds its bundle without importing the promotion machinery.
"""

from __future__ import annotations

from pathlib import Path

from sentiment.core import storage
from sentiment.core.errors import ConfigError, StageOutputMissingError
from sentiment.core.paths import HomeLayout
from sentiment.modeling.bundle_cache import local_bundle

# bundle_files, not resolved_bundle: the command's check before orchestration reads the
# champion, and resolved_bundle loads the encoding kernels.
from sentiment.modeling.bundle_files import bundle_identity, require_bundle_files, verify_bundle
from sentiment.release.errors import EvaluationError
from sentiment.release.ledger import registry_state


def champion_version(home: Path) -> str | None:
    """Return the current champion's version, or None if none was ever promoted.

    Args:
        home: The pipeline home.

    Raises:
        LedgerCorruptError: If the ledger has a corrupt line.
    """
    return registry_state(home).champion


def bundle_directory(home: Path, version: str) -> Path:
    """Return ``models/<version>`` after checking the version names an existing bundle.

    Raises:
        EvaluationError: If the version is malformed or no such bundle exists.
    """
    layout = HomeLayout(Path(home))
    if not version or "/" in version or "\\" in version or version.startswith("."):
        raise EvaluationError(
            f"'{version}' is not a model version; run `sentiment models` to list them."
        )
    directory = layout.bundle(version)
    if not directory.is_dir():
        raise EvaluationError(
            f"Unknown model version '{version}': {directory} does not exist; "
            "run `sentiment models` to list the versions."
        )
    return directory


def bundle_versions(home: Path) -> list[str]:
    """The versions of every bundle directory under ``models/``, oldest first."""
    models = HomeLayout(Path(home)).models_dir
    if not models.is_dir():
        return []
    return sorted(
        entry.name
        for entry in models.iterdir()
        if entry.is_dir() and not entry.name.startswith(".")
    )


def resolve_version(home: Path, version: str) -> str:
    """Return ``version``, or the newest bundle's version when it is ``latest``.

    Raises:
        EvaluationError: If ``latest`` is asked for and there is no bundle.
    """
    if version != "latest":
        return version
    versions = bundle_versions(home)
    if not versions:
        raise EvaluationError(
            f"There is no model bundle under {HomeLayout(Path(home)).models_dir}; run "
            "`sentiment train` first."
        )
    # Versions start with their UTC creation time, so the last in order is the newest.
    return versions[-1]


def resolve_bundle(home: Path, model: str | None = None) -> tuple[str, Path]:
    """The version and directory of the bundle to score with, without loading it.

    Args:
        home: The pipeline home.
        model: A registered version, ``latest`` for the newest bundle, or None for the
            champion.

    Returns:
        ``(version, directory)``.

    Raises:
        StageOutputMissingError: If no model is named and none was ever promoted.
        EvaluationError: If the named version is not a bundle of this home.
    """
    version = resolve_version(home, model) if model else champion_version(home)
    if version is None:
        raise StageOutputMissingError(
            f"No champion model in {HomeLayout(Path(home)).models_dir}; train, evaluate and "
            "promote one first ('sentiment train', then 'sentiment evaluate VERSION'), or "
            "pass --model VERSION."
        )
    return version, bundle_directory(home, version)


def explicit_bundle(path: Path | str) -> tuple[str, Path | str]:
    """The version and directory of a bundle named by its path (``--bundle PATH``),
    which may lie outside the home's registry, verified as a registry bundle is when it
    loads (every file against the checksums recorded when it was saved).

    Args:
        path: The bundle's directory, or its URL (``s3://bucket/models/VERSION``: this
            host's copy is verified; every other host copies and verifies it again when
            it loads).

    Returns:
        ``(version, directory)``, the directory absolute (for a URL, the URL).

    Raises:
        DataError: If it is not a complete bundle, has no checksums, or a file differs
            from its checksum (one sentence naming the file).
    """
    where = storage.location(path)
    if storage.is_remote(where):
        return explicit_bundle(local_bundle(where))[0], where
    directory = Path(path).expanduser().resolve()
    require_bundle_files(
        directory,
        fix="pass --bundle a bundle directory saved by 'sentiment train', or --model a "
        "version listed by 'sentiment models'",
        incomplete_fix="pass --bundle a bundle directory saved by 'sentiment train'",
    )
    verify_bundle(directory)
    return bundle_identity(directory).version, directory


def scoring_bundle(
    home: Path, model: str | None = None, bundle: str | Path | None = None
) -> tuple[str, Path | str, str]:
    """The bundle a scoring run uses: ``--bundle PATH`` (:func:`explicit_bundle`), else
    ``--model VERSION`` or the champion (:func:`resolve_bundle`, the home's registry).

    Returns:
        ``(version, directory, source)``, source ``path`` or ``registry``.

    Raises:
        ConfigError: If both a model and a bundle are named.
    """
    if bundle is not None and model is not None:
        raise ConfigError(
            "Both --model and --bundle were given; name a registry version with --model "
            "or a bundle directory with --bundle, not both."
        )
    if bundle is not None:
        return (*explicit_bundle(bundle), "path")
    return (*resolve_bundle(home, model), "registry")
