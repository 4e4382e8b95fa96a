"""Labelled-data intake: review files with labels become immutable batches of a snapshot.

:func:`add_labels` reads one file exactly as scoring reads its inputs (Parquet, CSV or
JSON lines, the last two optionally gzipped), checks it row by row and writes::

    labelled/batches/<batch>/train.parquet   review_id, text, label int8, source,
    labelled/batches/<batch>/test.parquet    text_hash, row (the input's row number)
    labelled/batches/<batch>/manifest.json   input file and hash, settings, counts
    labelled/rejected/<batch>.parquet        refused rows: the original columns as read, plus
                                             _row (row number) and _reason (one more leading
                                             underscore while an input column has the name)
    labelled/snapshots/<n>-<snapshot>.json   the new snapshot (see sentiment.data.snapshot)

A row is refused (quarantined with its reason) when its label is missing or unknown or
it has no text, and left out (counted, and quarantined too) when its normalized text is
already in IMDB train or test, an earlier batch or earlier in the same file; a duplicate
with a different label is a conflict, and a text labelled both ways within the file is
refused on every row (no first label wins). The rest is accepted; a hash of the normalized
text puts a fixed share into the test portion, so one review is never on both sides.

A labelling queue's file (``sentiment label-queue``: it has a ``queue`` column) may come
back partly filled: a row of the queue whose label is still empty is not yet labelled,
counted as such and left out, not refused, so the file can be filled further and given
back again. Every other row, an edited or added one included, is checked as above.

``<batch>`` hashes the input's bytes and the intake settings: adding the same file again
finds the batch in the current snapshot and changes nothing. The batch directory is
built under a temporary name and renamed when complete, and the snapshot is recorded
only after it, so a killed intake leaves no half batch and no half snapshot.

How a row's label, normalized text and portion are read: :mod:`sentiment.data.labelled_rows`;
the texts already known: :mod:`sentiment.data.known_texts`; the labelled inbox:
:mod:`sentiment.data.labelled_inbox`.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from sentiment.core.atomic import (
    atomic_directory,
    atomic_path,
    remove_stale_temporaries,
    settings_fingerprint,
    write_json,
)
from sentiment.core.errors import DataError
from sentiment.core.locks import exclusive_lock
from sentiment.core.paths import HomeLayout
from sentiment.data.config import QUEUE_COLUMN, LabelsConfig
from sentiment.data.known_texts import batch_index, imdb_index
from sentiment.data.labelled_rows import (
    has_tokens,
    in_test_portion,
    normalize_text,
    normalized_hash,
    parse_label,
)
from sentiment.data.snapshot import (
    BATCH_MANIFEST,
    PORTIONS,
    current_snapshot,
    read_batch_manifest,
    record_snapshot,
)
from sentiment.reading.files import SUPPORTED_SUFFIXES, InputFile, detect_format
from sentiment.reading.fingerprint import FINGERPRINT_PREFIX
from sentiment.reading.readers import BatchReader

logger = logging.getLogger(__name__)

BATCH_PREFIX = "b-"
# The counts a batch's manifest records and an intake taken in before reports again.
COUNTS = ("accepted", "train", "test", "refused", "duplicates", "conflicts", "unlabelled", "queued")
BATCH_SCHEMA = pa.schema(
    [
        pa.field("review_id", pa.string(), nullable=False),
        pa.field("text", pa.string(), nullable=False),
        pa.field("label", pa.int8(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("text_hash", pa.string(), nullable=False),
        pa.field("row", pa.int64(), nullable=False),
    ]
)
# --- reading ------------------------------------------------------------------------


def labelled_format(path: Path) -> tuple[str, bool] | None:
    """``(format, gzipped)`` from the file name (the suffixes scoring reads), or None."""
    detected = detect_format(path)
    return None if detected is None else (detected[0], detected[1])


def read_labelled_file(path: Path, config: LabelsConfig) -> tuple[pa.Table, str]:
    """Read a labelled file whole, exactly as scoring reads an input
    (:class:`sentiment.reading.readers.BatchReader`): CSV fields as their exact text,
    JSON values with their own types, Parquet as written.

    Returns:
        The table and the sha256 (hex) of exactly the bytes it was read from.

    Raises:
        DataError: If the file is missing, its suffix unknown, it cannot be parsed, or it
            lacks the text or label column.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"Labelled file {path} does not exist; pass the path of a review file.")
    detected = labelled_format(path)
    if detected is None:
        raise DataError(
            f"Labelled file {path} has an unknown suffix; name it {', '.join(SUPPORTED_SUFFIXES)}."
        )
    kind, compressed = detected
    reader = BatchReader(
        InputFile(path, kind, compressed, output_name=path.name), text_column=config.text_column
    )
    try:
        with reader:
            table = pa.Table.from_batches(list(reader), schema=reader.schema)
            sha256 = reader.fingerprint().removeprefix(FINGERPRINT_PREFIX)
    except DataError:
        # A missing column is named in this stage's words (and with its option).
        _check_columns(path, reader.schema, config)
        raise
    except (OSError, EOFError, pa.ArrowException) as error:
        raise DataError(
            f"Labelled file {path} cannot be read as {kind}{' (gzip)' * compressed} ({error}); "
            "fix the file or give it the suffix of its format."
        ) from error
    _check_columns(path, table.schema, config)
    return table, sha256


# --- the intake ---------------------------------------------------------------------


@dataclass
class IntakeResult:
    """What one labelled file gave.

    Attributes:
        file: The input file.
        batch: The batch id (also the name of the refused rows' file).
        source: The slice name.
        rows: Rows read.
        accepted: Rows added to the snapshot (``train`` + ``test``).
        train: Accepted rows in the train portion.
        test: Accepted rows in the test portion.
        refused: Rows refused for a missing or unknown label or no text.
        duplicates: Rows left out because their text is already known with that label.
        conflicts: Rows left out because their text is already known with the other label.
        unlabelled: Rows of a labelling queue whose label is still empty (left out, not
            refused: the file may be filled further and given back).
        queued: Accepted rows that came from a labelling queue.
        reasons: Refused and left-out rows by reason.
        snapshot: The snapshot id after the intake.
        already_taken_in: The same file with the same settings was taken in before;
            nothing changed.
        rejected_file: Where the refused and left-out rows are, or None.
        seconds: Time the intake took.
    """

    file: str
    batch: str
    source: str
    rows: int = 0
    accepted: int = 0
    train: int = 0
    test: int = 0
    refused: int = 0
    duplicates: int = 0
    conflicts: int = 0
    unlabelled: int = 0
    queued: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    snapshot: str = ""
    already_taken_in: bool = False
    rejected_file: str | None = None
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serializable view."""
        return asdict(self)

    def summary(self) -> str:
        """The counts in one line."""
        if self.already_taken_in:
            return (
                f"{self.file}: already taken in as batch {self.batch} ({self.accepted} rows); "
                f"nothing changed (snapshot {self.snapshot})."
            )
        return (
            f"{self.file}: {self.rows} rows, {self.accepted} accepted as '{self.source}' "
            f"({self.train} train, {self.test} test), {self.refused} refused, "
            f"{self.duplicates} duplicates, {self.conflicts} conflicts"
            + (f", {self.unlabelled} not yet labelled" if self.unlabelled else "")
            + f"; snapshot {self.snapshot}"
            + (f"; refused rows in {self.rejected_file}" if self.rejected_file else "")
            + "."
        )


def batch_id(input_sha256: str, config: LabelsConfig) -> str:
    """The batch id of a file's bytes taken in with these settings."""
    return BATCH_PREFIX + settings_fingerprint({"input": input_sha256, **config.to_dict()})


def _check_columns(path: Path, schema: pa.Schema, config: LabelsConfig) -> None:
    names = ", ".join(schema.names) or "none"
    for setting, column in (("text", config.text_column), ("label", config.label_column)):
        if column not in schema.names:
            raise DataError(
                f"Labelled file {path} has no {setting} column '{column}' (it has {names}); "
                f"name the column with --{setting}-column NAME."
            )


def add_labels(home: Path, path: Path, config: LabelsConfig | None = None) -> IntakeResult:
    """Take one labelled file into the home as a new batch of a new snapshot.

    Args:
        home: The pipeline home (IMDB must be ingested: its texts are checked for leaks).
        path: The labelled file.
        config: Source name, column names and test share.

    Returns:
        The counts; ``accepted`` is 0 when every valid row was a duplicate.

    Raises:
        DataError: If the file cannot be read, lacks the text or label column, or has no
            valid row (nothing is written then).
        StageOutputMissingError: If IMDB has not been ingested.
    """
    started = time.perf_counter()
    config = config or LabelsConfig()
    path = Path(path)
    layout = HomeLayout(Path(home))
    table, input_sha256 = read_labelled_file(path, config)
    batch = batch_id(input_sha256, config)
    result = IntakeResult(file=str(path), batch=batch, source=config.source, rows=table.num_rows)
    with exclusive_lock(layout.labelled_lock, "another labelled-data intake"):
        remove_stale_temporaries(
            layout.labelled_batches_dir,
            layout.labelled_rejected(batch).parent,
            layout.snapshots_dir,
            layout.labelled_index_dir,
        )
        snapshot = current_snapshot(home)
        if batch in snapshot.batches:
            manifest = read_batch_manifest(home, batch)
            result.already_taken_in = True
            for name in COUNTS:
                setattr(result, name, int(manifest["counts"].get(name, 0)))
            result.snapshot = snapshot.id
            result.seconds = time.perf_counter() - started
            logger.info("%s", result.summary())
            return result
        known = imdb_index(home, snapshot)
        for hash_hex, entry in batch_index(home, snapshot).items():
            known.setdefault(hash_hex, entry)
        accepted, rejected = _check_rows(table, config, batch, known, result)
        if result.accepted == 0 and result.duplicates + result.conflicts + result.unlabelled == 0:
            raise DataError(_no_valid_row(path, config, result))
        rows = {"train": result.train, "test": result.test}
        if rejected[0]:
            rejected_table = table.take(pa.array(rejected[0], pa.int64()))
            row_column, reason_column = quarantine_columns(table.column_names)
            rejected_table = rejected_table.append_column(
                row_column, pa.array(rejected[0], pa.int64())
            ).append_column(reason_column, pa.array(rejected[1], pa.string()))
            destination = layout.labelled_rejected(batch)
            with atomic_path(destination) as temporary:
                pq.write_table(rejected_table, temporary)
            result.rejected_file = str(destination)
        if result.accepted:
            _write_batch(layout, path, input_sha256, batch, config, accepted, result)
            snapshot = record_snapshot(home, snapshot, batch, config.source, rows)
        result.snapshot = snapshot.id
    result.seconds = time.perf_counter() - started
    logger.info("%s", result.summary())
    return result


def quarantine_columns(input_columns: list[str]) -> tuple[str, str]:
    """The names of the quarantine's own columns: the input's row number and the reason.

    ``_row`` and ``_reason``, with one more leading underscore until neither is an input
    column's name, so the input's columns are kept as they are, never duplicated.
    """
    taken = set(input_columns)
    prefix = "_"
    while f"{prefix}row" in taken or f"{prefix}reason" in taken:
        prefix += "_"
    return f"{prefix}row", f"{prefix}reason"


def _check_rows(
    table: pa.Table,
    config: LabelsConfig,
    batch: str,
    known: dict[str, tuple[int, str]],
    result: IntakeResult,
) -> tuple[dict[str, list[Any]], tuple[list[int], list[str]]]:
    """Sort every row into accepted (by portion) or rejected (row number + reason)."""
    texts = table.column(config.text_column).to_pylist()
    labels = table.column(config.label_column).to_pylist()
    queues = (
        table.column(QUEUE_COLUMN).to_pylist()
        if QUEUE_COLUMN in table.column_names
        else [None] * table.num_rows
    )
    accepted: dict[str, list[Any]] = {name: [] for name in BATCH_SCHEMA.names}
    accepted["portion"] = []
    rejected_rows: list[int] = []
    reasons: list[str] = []
    counts: Counter[str] = Counter()
    seen: dict[str, tuple[int, str]] = {}

    def reject(row: int, reason: str, kind: str) -> None:
        rejected_rows.append(row)
        reasons.append(reason)
        counts[reason.split(":")[0]] += 1
        setattr(result, kind, getattr(result, kind) + 1)

    checked: list[tuple[int, str] | tuple[None, str]] = []
    file_labels: dict[str, set[int]] = {}
    file_rows: dict[str, list[int]] = {}
    for row, (text, raw_label) in enumerate(zip(texts, labels, strict=True)):
        label = parse_label(raw_label)
        missing = raw_label is None or (isinstance(raw_label, str) and not raw_label.strip())
        if missing and _queued(queues[row]):
            checked.append((None, ""))
        elif missing:
            checked.append((None, f"missing label in column '{config.label_column}'"))
        elif label is None:
            checked.append((None, f"unknown label {raw_label!r} in column '{config.label_column}'"))
        elif (
            not isinstance(text, str)
            or not (normalized := normalize_text(text))
            or not has_tokens(text, normalized)
        ):
            checked.append(
                (None, f"no text in column '{config.text_column}' (empty or only markup)")
            )
        else:
            hash_hex = normalized_hash(normalized)
            checked.append((label, hash_hex))
            file_labels.setdefault(hash_hex, set()).add(label)
            file_rows.setdefault(hash_hex, []).append(row)

    for row, (label, detail) in enumerate(checked):
        if label is None and not detail:
            result.unlabelled += 1
            continue
        if label is None:
            reject(row, detail, "refused")
            continue
        text, hash_hex = texts[row], detail
        previous = known.get(hash_hex)
        if previous is None and len(file_labels[hash_hex]) > 1:
            # Labelled both ways in this file: no row of it is trusted, the first included.
            rows = ", ".join(str(number) for number in file_rows[hash_hex])
            reject(row, f"conflict: labelled both 0 and 1 in this file (rows {rows})", "conflicts")
            continue
        previous = previous or seen.get(hash_hex)
        if previous is not None:
            if previous[0] == label:
                reject(row, f"duplicate: the same text is in {previous[1]}", "duplicates")
            else:
                reject(
                    row,
                    f"conflict: the same text is in {previous[1]} with label {previous[0]}",
                    "conflicts",
                )
            continue
        seen[hash_hex] = (label, f"{config.source}/{batch} row {row}")
        portion = "test" if in_test_portion(hash_hex, config.test_share) else "train"
        accepted["review_id"].append(f"{config.source}/{hash_hex}")
        accepted["text"].append(text)
        accepted["label"].append(label)
        accepted["source"].append(config.source)
        accepted["text_hash"].append(hash_hex)
        accepted["row"].append(row)
        accepted["portion"].append(portion)
        setattr(result, portion, getattr(result, portion) + 1)
        result.accepted += 1
        result.queued += _queued(queues[row])
    result.reasons = dict(counts)
    return accepted, (rejected_rows, reasons)


def _queued(cell: Any) -> bool:
    """Whether a ``queue`` cell names a labelling queue (the row came from one)."""
    return isinstance(cell, str) and bool(cell.strip())


def _no_valid_row(path: Path, config: LabelsConfig, result: IntakeResult) -> str:
    label_problems = sum(count for reason, count in result.reasons.items() if "label" in reason)
    if label_problems >= result.refused - label_problems:
        return (
            f"Labelled file {path} has no valid row: none of its {result.rows} rows has a label "
            f"in column '{config.label_column}' that reads as 0/1, true/false, pos/neg or "
            "positive/negative; fix the labels or name the right column with --label-column."
        )
    return (
        f"Labelled file {path} has no valid row: none of its {result.rows} rows has text in "
        f"column '{config.text_column}'; name the right column with --text-column."
    )


def _write_batch(
    layout: HomeLayout,
    path: Path,
    input_sha256: str,
    batch: str,
    config: LabelsConfig,
    accepted: dict[str, list[Any]],
    result: IntakeResult,
) -> None:
    columns = {name: accepted[name] for name in BATCH_SCHEMA.names}
    table = pa.table(columns, schema=BATCH_SCHEMA)
    portion = pa.array(accepted["portion"], pa.string())
    digest = hashlib.sha256()
    with atomic_directory(layout.labelled_batch(batch)) as temporary:
        for name in PORTIONS:
            part = table.filter(pc.equal(portion, name))
            pq.write_table(part, temporary / f"{name}.parquet")
            for hash_hex, label in zip(
                part.column("text_hash").to_pylist(), part.column("label").to_pylist(), strict=True
            ):
                digest.update(f"{name}\t{hash_hex}\t{label}\n".encode())
        write_json(
            temporary / BATCH_MANIFEST,
            {
                "batch": batch,
                "source": config.source,
                "settings": config.to_dict(),
                "input": {"path": str(path.resolve()), "sha256": input_sha256},
                "accepted_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "rows": {"train": result.train, "test": result.test},
                "counts": {"rows": result.rows, **{name: getattr(result, name) for name in COUNTS}},
                "reasons": result.reasons,
                "content_sha256": digest.hexdigest(),
            },
        )
