"""Finding review files to score: files, directories and glob patterns expanded into
inputs, each with its format and output name.

Scoring accepts any mix of files, directories and glob patterns naming Parquet, CSV or
JSON-lines files (CSV and JSON lines optionally gzip-compressed), local or on an object
store. Reading them: :mod:`sentiment.reading.readers`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sentiment.core import storage
from sentiment.core.errors import ConfigError
from sentiment.core.storage import Location
from sentiment.reading.files import SUPPORTED_SUFFIXES, InputFile, detect_format

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class InputFailure:
    """An input that cannot be scored, and why (one sentence naming the fix)."""

    path: str
    reason: str


@dataclass(frozen=True)
class Discovery:
    """The files found for a list of inputs and the inputs rejected up front."""

    inputs: tuple[InputFile, ...]
    failures: tuple[InputFailure, ...]
    # The sizes the listings gave, by location as listed: on an object store a lookup
    # per file would cost a round trip each before any scoring starts.
    listed_sizes: Mapping[str, int] = field(default_factory=dict)

    def manifests(self) -> list[dict[str, Any]]:
        """Each input's manifest plus its size, its share of all the bytes and the
        share before it (what a run's progress bar advances by)."""
        sizes = [self._size(item.path) for item in self.inputs]
        total = float(sum(sizes)) or 1.0
        manifests, done = [], 0.0
        for item, size in zip(self.inputs, sizes, strict=True):
            share = size / total
            manifests.append(
                {**item.to_manifest(), "size": size, "share": share, "progress_offset": done}
            )
            done += share
        return manifests

    def _size(self, path: Location) -> int:
        listed = self.listed_sizes.get(str(path))
        return storage.size(path) if listed is None else listed


def task_groups(
    manifests: Sequence[dict[str, Any]], group_bytes: int, group_files: int
) -> list[list[dict[str, Any]]]:
    """Split a discovery's manifests into the groups one task scores each.

    A task costs the orchestrator tens of milliseconds whatever it does, more than
    scoring a one-row file, so small files go together: in discovery order, a group
    takes files until it holds ``group_bytes`` or ``group_files`` files; a file of
    ``group_bytes`` or more is a group of its own.

    Args:
        manifests: From :meth:`Discovery.manifests` (each has a ``size``).
        group_bytes: Input bytes per group.
        group_files: Files per group at most.

    Returns:
        The groups, in order; every manifest is in exactly one.
    """
    groups: list[list[dict[str, Any]]] = []
    current: list[dict[str, Any]] = []
    current_bytes = 0
    for manifest in manifests:
        size = int(manifest.get("size", 0))
        if current and (current_bytes + size > group_bytes or len(current) >= group_files):
            groups.append(current)
            current, current_bytes = [], 0
        current.append(manifest)
        current_bytes += size
    if current:
        groups.append(current)
    return groups


def _input_file(path: Location) -> InputFile | None:
    detected = detect_format(path)
    if detected is None:
        return None
    file_format, compressed, _ = detected
    return InputFile(
        path=path, format=file_format, compressed=compressed, output_name=output_name(path)
    )


def output_name(path: Location) -> str:
    """The scored file's name for an input: its whole name, ending in ``.parquet``."""
    name = storage.name(path)
    return name if name.lower().endswith(".parquet") else f"{name}.parquet"


# Beside the outputs: one JSON object per failed input of the latest run.
FAILED_FILE = "failed.jsonl"


def _is_candidate(path: Location) -> bool:
    # Hidden files include our own half-written temporaries (".tmp-..."); a run's
    # failed.jsonl (a JSON-lines name) reports on inputs and is never one, wherever a
    # run wrote it, unless named explicitly.
    name = storage.name(path)
    return not name.startswith(".") and name != FAILED_FILE and detect_format(path) is not None


def _unreachable(pattern: str, error: OSError) -> str:
    detail = " ".join(str(error).split())
    detail = detail[:200] + ("..." if len(detail) > 200 else "")
    if not storage.is_remote(storage.location(pattern)):
        return f"Input {pattern} cannot be read ({detail}); check its permissions."
    return (
        f"Input {pattern} cannot be reached ({detail}); check the address, the network, the "
        "endpoint (AWS_ENDPOINT_URL) and the credentials (AWS_* variables)."
    )


def discover_inputs(patterns: Sequence[str], output_dir: Location | None = None) -> Discovery:
    """Expand files, directories and glob patterns into the files to score.

    A directory contributes its supported files (not recursively, so two inputs never
    share a relative name by accident); hidden files and failures files
    (``failed.jsonl``) are skipped, and so are files in the output directory that a
    glob matches (outputs are never inputs). A named
    file inside the output directory is refused, and an input directory that is the
    output directory stops the run.
    Inputs are deduplicated and sorted by path. Each pattern may be a local path or a
    URL (``s3://bucket/dump/``, ``s3://bucket/dump/*.parquet``).
    Problems that concern one input (no match, unsupported suffix, two inputs that
    would write the same output name, an output that would overwrite its input) become
    failures so the rest of the batch still runs.

    Args:
        patterns: Paths, directories or glob patterns, as the user typed them.
        output_dir: Where outputs go; its own files are never taken as inputs from a
            directory scan, and no output may replace an input.

    Returns:
        The inputs to score and the failures found while expanding.

    Raises:
        ConfigError: If an input directory is the output directory (a setting to
            change, refused before anything is written there).
    """
    failures: list[InputFailure] = []
    found: dict[str, InputFile] = {}
    listed_sizes: dict[str, int] = {}
    resolved_output = storage.resolve(output_dir) if output_dir is not None else None

    def in_output(path: Location) -> bool:
        return resolved_output is not None and storage.same(
            storage.parent(storage.resolve(path)), resolved_output
        )

    def remember(entries: list[storage.Entry]) -> list[Location]:
        """Keep the listed entries' sizes; return their locations."""
        for entry in entries:
            listed_sizes[str(entry.location)] = entry.size
        return [entry.location for entry in entries]

    def add(path: Location, explicit: bool) -> None:
        input_file = _input_file(path)
        if input_file is None:
            if explicit:
                failures.append(
                    InputFailure(
                        str(path),
                        f"Input {path} has an unsupported file type; use one of "
                        f"{', '.join(SUPPORTED_SUFFIXES)}.",
                    )
                )
            return
        found.setdefault(storage.identity(path), input_file)

    def expand(pattern: str) -> None:
        where = storage.location(pattern)
        if storage.is_pattern(str(where)) and not storage.exists(where):
            matches = storage.glob_entries(str(where))
            # The outputs of this or an earlier run are never inputs, whatever the pattern.
            files = remember(
                [
                    entry
                    for entry in matches
                    if _is_candidate(entry.location) and not in_output(entry.location)
                ]
            )
            if not files:
                failures.append(
                    InputFailure(
                        pattern,
                        f"Input pattern {pattern} matches no {'/'.join(SUPPORTED_SUFFIXES)} "
                        "file; check the pattern or quote it so the shell does not expand it.",
                    )
                )
            for match in files:
                add(match, explicit=False)
            return
        path = where
        if storage.is_dir(path):
            if resolved_output is not None and storage.same(path, resolved_output):
                raise ConfigError(
                    f"Input directory {path} is also the output directory; choose another "
                    "--output so outputs are never taken for inputs."
                )
            children = remember(
                [entry for entry in storage.list_files(path) if _is_candidate(entry.location)]
            )
            if not children:
                failures.append(
                    InputFailure(
                        str(path),
                        f"Input directory {path} holds no {'/'.join(SUPPORTED_SUFFIXES)} file "
                        "to score; point at the directory that holds the review files.",
                    )
                )
            for child in children:
                add(child, explicit=False)
        elif storage.is_file(path):
            add(path, explicit=True)
        elif storage.exists(path):
            # A FIFO, socket or device: reading one may block forever or never end.
            failures.append(
                InputFailure(
                    str(path),
                    f"Input {path} is not a regular file (a pipe, socket or device); write "
                    "the reviews to a file and score that.",
                )
            )
        else:
            failures.append(
                InputFailure(
                    str(path), f"Input {path} does not exist; check the path and try again."
                )
            )

    for pattern in patterns:
        try:
            expand(pattern)
        except OSError as error:
            # An object store that cannot be reached, or refuses the credentials: every
            # input it holds fails with the reason, the others still run.
            failures.append(InputFailure(pattern, _unreachable(pattern, error)))

    inputs = sorted(found.values(), key=lambda item: str(item.path))
    by_output: dict[str, list[InputFile]] = {}
    for input_file in inputs:
        by_output.setdefault(input_file.output_name, []).append(input_file)
    kept: list[InputFile] = []
    for output_name, group in by_output.items():
        if len(group) > 1:
            names = ", ".join(str(item.path) for item in group)
            for item in group:
                failures.append(
                    InputFailure(
                        str(item.path),
                        f"Inputs {names} would all be written to {output_name}; rename one "
                        "of them or score them into different --output directories.",
                    )
                )
            continue
        input_file = group[0]
        if resolved_output is not None and storage.same(
            storage.join(resolved_output, output_name), input_file.path
        ):
            failures.append(
                InputFailure(
                    str(input_file.path),
                    f"Scoring {input_file.path} into {output_dir} would overwrite the input; "
                    "choose another --output directory.",
                )
            )
            continue
        if in_output(input_file.path):
            failures.append(
                InputFailure(
                    str(input_file.path),
                    f"Input {input_file.path} lies in the output directory {output_dir}; "
                    "choose another --output so outputs are never taken for inputs.",
                )
            )
            continue
        kept.append(input_file)
    kept.sort(key=lambda item: str(item.path))
    return Discovery(inputs=tuple(kept), failures=tuple(failures), listed_sizes=listed_sizes)
