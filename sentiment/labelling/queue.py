"""The labelling queue of a home: the scored reviews the champion is least sure of, as
a CSV file for a person to label and give back with ``sentiment add-labels``.

Reads scored outputs (``scored/`` and ``scores/`` by default; each records the bundle
and threshold it was scored with), leaves out reviews already labelled (IMDB and the
snapshot's batches, by normalized-text hash: :mod:`sentiment.data.known_texts`) or in
an earlier queue (``to-label/.queued.parquet``), and picks with
:func:`sentiment.labelling.selection.select_uncertain`. The queue file is written
atomically, then the picks are recorded as queued; both under the queue lock.
"""

from __future__ import annotations

import csv
import json
import logging
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from sentiment.core.atomic import atomic_path
from sentiment.core.errors import DataError
from sentiment.core.locks import exclusive_lock
from sentiment.core.paths import HomeLayout
from sentiment.core.progress import Progress
from sentiment.data.config import QUEUE_COLUMN
from sentiment.data.known_texts import batch_index, imdb_index
from sentiment.data.snapshot import current_snapshot
from sentiment.labelling.config import QueueConfig
from sentiment.labelling.selection import Candidates, Pick, select_uncertain
from sentiment.release.champion import champion_version
from sentiment.scoring.outputs import REASONS_COLUMN, SCORE_COLUMN, read_scoring_metadata

logger = logging.getLogger(__name__)

# The queue file's columns, in order (reasons only when an input has them).
QUEUE_COLUMNS = (
    "review_id",
    "text",
    SCORE_COLUMN,
    REASONS_COLUMN,
    "source_file",
    "picked_because",
    QUEUE_COLUMN,
    "label",
)
# Input columns taken as the review's id, first found first.
ID_COLUMNS = ("review_id", "id")
HISTORY_SCHEMA = pa.schema(
    [
        ("text_hash", pa.string()),
        ("review_id", pa.string()),
        ("queue", pa.string()),
        ("queued_at", pa.string()),
    ]
)


@dataclass
class QueueResult:
    """What one queue run did.

    Attributes:
        output: The queue file written, or None when nothing was left to pick.
        picked: Reviews in it.
        files: Scored files read.
        skipped_files: Scored files left out, with why (scored by another bundle).
        excluded: Reviews known before (labelled or queued earlier).
        model_version: The champion the scores came from (None: no champion).
        rows: One dict per pick (the queue file's columns but the empty label).
    """

    output: str | None
    picked: int = 0
    files: int = 0
    skipped_files: dict[str, str] = field(default_factory=dict)
    excluded: int = 0
    model_version: str | None = None
    rows: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serializable view."""
        return asdict(self)

    def summary(self) -> str:
        """The outcome in one line."""
        if self.output is None:
            return (
                f"Nothing to queue: no scored review left that is not labelled or queued "
                f"already ({self.files} scored file(s) read)."
            )
        return (
            f"Queued {self.picked} review(s) from {self.files} scored file(s) into "
            f"{self.output}; fill its 'label' column (positive/negative) and run "
            f"`sentiment add-labels {self.output} --source NAME`."
        )


def scored_files(paths: list[Path]) -> list[Path]:
    """The scored outputs among ``paths``: a directory gives its visible Parquet files.

    Raises:
        DataError: If a named file is missing or is no scored output.
    """
    found: list[Path] = []
    for path in paths:
        path = Path(path)
        if path.is_dir():
            found += [
                entry
                for entry in sorted(path.glob("*.parquet"))
                if not entry.name.startswith(".") and _threshold(entry) is not None
            ]
        elif not path.is_file():
            raise DataError(
                f"Scored file {path} does not exist; pass a file `sentiment score` wrote."
            )
        elif _threshold(path) is None:
            raise DataError(
                f"File {path} is no scored output (no sentiment.threshold in its metadata); "
                "pass a file `sentiment score` wrote."
            )
        else:
            found.append(path)
    return found


def _threshold(path: Path) -> float | None:
    metadata = read_scoring_metadata(path) or {}
    try:
        return float(metadata["threshold"])
    except (KeyError, ValueError):
        return None


def known_hashes(home: Path) -> set[str]:
    """Normalized-text hashes of every review already labelled or queued in ``home``."""
    layout = HomeLayout(Path(home))
    known: set[str] = set()
    # Labelled batches exist only once IMDB is ingested (their leak guard reads it).
    if all(layout.raw_split(split).is_file() for split in ("train", "test")):
        snapshot = current_snapshot(home)
        known.update(imdb_index(home, snapshot))
        known.update(batch_index(home, snapshot))
    if layout.queue_history.is_file():
        known.update(pq.read_table(layout.queue_history).column("text_hash").to_pylist())
    return known


class _ScoredFile:
    """One scored output's columns the queue needs, read once."""

    def __init__(self, path: Path, metadata: dict[str, str]) -> None:
        self.path = path
        self.threshold = float(metadata["threshold"])
        self.model_version = metadata.get("model_version")
        names = pq.read_schema(path).names
        text_column = metadata.get("text_column", "text")
        self.id_column = next((name for name in ID_COLUMNS if name in names), None)
        wanted = [text_column, SCORE_COLUMN]
        wanted += [name for name in (self.id_column, REASONS_COLUMN) if name in names]
        try:
            table = pq.read_table(path, columns=wanted)
        except (OSError, KeyError, pa.ArrowException) as error:
            raise DataError(
                f"Scored file {path} cannot be read ({error}); rescore it with `sentiment score`."
            ) from error
        self.texts = table.column(text_column)
        self.scores = table.column(SCORE_COLUMN).to_numpy(zero_copy_only=False).astype("float64")
        self.ids = table.column(self.id_column) if self.id_column else None
        self.reasons = table.column(REASONS_COLUMN) if REASONS_COLUMN in names else None

    def candidates(self) -> Candidates:
        return Candidates(
            str(self.path), self.scores, self.threshold, lambda row: self.texts[row].as_py()
        )

    def row(self, pick: Pick, queue: str) -> dict[str, Any]:
        review_id = self.ids[pick.row].as_py() if self.ids is not None else None
        reasons = self.reasons[pick.row].as_py() if self.reasons is not None else None
        return {
            "review_id": str(review_id)
            if review_id is not None
            else f"{self.path.name}#{pick.row}",
            "text": self.texts[pick.row].as_py(),
            SCORE_COLUMN: round(pick.score, 6),
            REASONS_COLUMN: json.dumps(reasons) if reasons is not None else "",
            "source_file": str(self.path),
            "picked_because": (
                f"score {pick.score:.4f} is {pick.distance:.4f} from the threshold "
                f"{self.threshold:.4f} ({self.model_version}); {_ordinal(pick.rank + 1)} least "
                "sure in its file"
            ),
            QUEUE_COLUMN: queue,
        }


def _ordinal(number: int) -> str:
    suffix = (
        "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    )
    return f"{number}{suffix}"


def build_queue(
    home: Path,
    config: QueueConfig | None = None,
    inputs: list[Path] | None = None,
    output: Path | None = None,
) -> QueueResult:
    """Write the next labelling queue of ``home``.

    Args:
        home: The pipeline home.
        config: Size, spreading, near-duplicate similarity.
        inputs: Scored files or directories (default: the home's ``scored/`` and ``scores/``).
        output: The queue file (default: ``to-label/queue-<UTC time>.csv``).

    Returns:
        What was queued; ``output`` is None when nothing was left to pick.

    Raises:
        DataError: If a named input is missing or no scored output.
    """
    config = config or QueueConfig()
    layout = HomeLayout(Path(home))
    defaults = [path for path in (layout.scored_dir, layout.scores_dir) if path.is_dir()]
    paths = scored_files(list(inputs) if inputs else defaults)
    champion = champion_version(layout.home)
    result = QueueResult(output=None, model_version=champion)
    files = []
    for path in paths:
        metadata = read_scoring_metadata(path) or {}
        version = metadata.get("model_version")
        if champion is not None and version != champion:
            # Another bundle's uncertainty says little about the champion's.
            result.skipped_files[str(path)] = f"scored by {version}, not the champion {champion}"
            continue
        files.append(_ScoredFile(path, metadata))
    result.files = len(files)
    stamp = datetime.now(UTC)
    output = Path(output) if output else layout.to_label_dir / f"queue-{stamp:%Y%m%dT%H%M%SZ}.csv"
    layout.to_label_dir.mkdir(parents=True, exist_ok=True)
    with exclusive_lock(layout.queue_lock, "another labelling queue"):
        progress = Progress(logger, "Labelling queue")
        progress.step("reading the texts already labelled or queued")
        known = known_hashes(layout.home)
        progress.step(f"reading the {len(files)} scored file(s) of the champion")
        candidates = [scored.candidates() for scored in files]
        reviews = sum(len(file.scores) for file in candidates)
        progress.step(f"choosing {config.size} of {reviews:,} reviews")
        picks = select_uncertain(candidates, config, known)
        result.excluded = len(known)
        if not picks:
            logger.info("%s", result.summary())
            return result
        rows = [files[pick.file].row(pick, output.name) for pick in picks]
        explained = any(row[REASONS_COLUMN] for row in rows)
        columns = [name for name in QUEUE_COLUMNS if explained or name != REASONS_COLUMN]
        output.parent.mkdir(parents=True, exist_ok=True)
        with (
            atomic_path(output) as temporary,
            open(temporary, "w", newline="", encoding="utf-8") as handle,
        ):
            writer = csv.DictWriter(handle, columns, extrasaction="ignore")
            writer.writeheader()
            writer.writerows({**row, "label": ""} for row in rows)
        _record_queued(layout, picks, rows, output.name, stamp)
    result.output = str(output)
    result.picked = len(picks)
    result.rows = rows
    logger.info("%s", result.summary())
    return result


def _record_queued(
    layout: HomeLayout, picks: list[Pick], rows: list[dict[str, Any]], queue: str, stamp: datetime
) -> None:
    """Append the picks to the queue history (rewritten whole, atomically: it is small)."""
    new = pa.table(
        {
            "text_hash": [pick.text_hash for pick in picks],
            "review_id": [row["review_id"] for row in rows],
            "queue": [queue] * len(picks),
            "queued_at": [stamp.isoformat(timespec="seconds")] * len(picks),
        },
        schema=HISTORY_SCHEMA,
    )
    history = layout.queue_history
    if history.is_file():
        new = pa.concat_tables([pq.read_table(history, schema=HISTORY_SCHEMA), new])
    with atomic_path(history) as temporary:
        pq.write_table(new, temporary)
