"""What a command checks before any orchestration: no Prefect import, no server started.

Each check ends a bad command within a second or two, in one sentence naming the file
and the fix, instead of after a Prefect server has started and a flow run has failed.
Only local paths are checked here; URLs (``s3://``) are checked by the run itself.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Sequence
from pathlib import Path

from sentiment.core.errors import ConfigError, DataError

_SCHEME_SEPARATOR = "://"


def _local(value: str) -> Path | None:
    if _SCHEME_SEPARATOR in value and not value.startswith("file://"):
        return None
    return Path(value.removeprefix("file://")).expanduser()


def check_inputs(inputs: Sequence[str]) -> None:
    """Every local input names something that exists and can be read.

    Raises:
        DataError: One sentence per input that does not (each on its own line).
    """
    problems = []
    for value in inputs:
        path = _local(value)
        if path is None:
            continue
        if any(character in value for character in "*?[") and not path.exists():
            if not glob.glob(str(path)):
                problems.append(
                    f"Input pattern {value} matches no file; check the pattern, or quote it "
                    "so the shell does not expand it."
                )
            continue
        if not path.exists():
            problems.append(f"Input {path} does not exist; check the path.")
        elif not os.access(path, os.R_OK | (os.X_OK if path.is_dir() else 0)):
            problems.append(f"Input {path} cannot be read; give this user read permission.")
    if problems:
        raise DataError("\n".join(problems))


def check_output(output: str) -> None:
    """A local output directory exists and is writable, or can be created.

    Raises:
        ConfigError: If it is a file, or neither it nor its nearest existing parent can
            be written.
    """
    path = _local(output)
    if path is None:
        return
    path = path.resolve()
    if path.exists() and not path.is_dir():
        raise ConfigError(f"Output {path} is a file; pass --output a directory.")
    existing = path
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise ConfigError(
            f"Output {path} cannot be written ({existing} is not writable by this user); "
            "pass --output a directory you can write to."
        )


def check_model(home: Path, model: str | None, bundle: str | None) -> None:
    """The bundle to score with exists: ``--bundle``'s directory, else the home's
    champion or ``--model``'s version (the registry's own one-sentence errors).

    Raises:
        DataError: If ``--bundle`` names a local directory that does not exist.
        StageOutputMissingError: If no champion was ever promoted.
        EvaluationError: If ``--model`` names no bundle of the home.
    """
    if bundle is not None:
        path = _local(bundle)
        if path is not None and not path.is_dir():
            raise DataError(
                f"Model bundle {path.resolve()} does not exist; pass --bundle a bundle "
                "directory saved by 'sentiment train', or --model a version listed by "
                "'sentiment models'."
            )
        return
    # Imported here: the registry loads the encoding kernels, which only a command that
    # gets this far needs.
    from sentiment.release.champion import resolve_bundle

    resolve_bundle(home, model)
