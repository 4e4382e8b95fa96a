"""The raw inputs of preprocessing: the raw splits checked, fingerprinted and read
(labels), the labelled batches each split takes in, and the validation portion."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from sentiment.core.arrays import numpy_values
from sentiment.core.atomic import file_fingerprint
from sentiment.core.errors import DataError
from sentiment.core.paths import HomeLayout
from sentiment.data.snapshot import Snapshot

RAW_SPLITS = ("train", "test")


def _check_raw_file(path: Path, home: Path) -> None:
    """Fail with a one-sentence DataError unless ``path`` is a raw split we can read."""
    fix = f"run 'sentiment --home {home} ingest' to (re)write it"
    if not path.is_file():
        raise DataError(f"Raw file {path} is missing; {fix}.")
    try:
        schema = pq.read_schema(path)
    except (OSError, pa.ArrowException) as error:
        raise DataError(f"Raw file {path} is not readable Parquet ({error}); {fix}.") from error
    expected = {
        "review_id": (pa.types.is_string, pa.types.is_large_string),
        "text": (pa.types.is_string, pa.types.is_large_string),
        "label": (pa.types.is_integer,),
    }
    for column, checks in expected.items():
        if column not in schema.names:
            raise DataError(
                f"Raw file {path} has no '{column}' column (it has {', '.join(schema.names)}); "
                f"{fix}."
            )
        column_type = schema.field(column).type
        if not any(check(column_type) for check in checks):
            kind = "an integer" if column == "label" else "a string"
            raise DataError(
                f"Column '{column}' of raw file {path} is {column_type}, not {kind}; {fix}."
            )


def input_fingerprints(home: Path) -> dict[str, str]:
    """Check the raw train and test files and return their content fingerprints.

    Raises:
        DataError: If a raw file is missing, unreadable or has the wrong schema.
    """
    layout = HomeLayout(Path(home))
    fingerprints = {}
    for split in RAW_SPLITS:
        path = layout.raw_split(split)
        _check_raw_file(path, layout.home)
        fingerprints[split] = file_fingerprint(path)
    return fingerprints


def split_inputs(home: Path, snapshot: Snapshot) -> dict[str, list[Path]]:
    """Each raw split's files: IMDB's, then the batches' portions in snapshot order."""
    layout = HomeLayout(home)
    inputs = {
        split: [layout.raw_split(split), *snapshot.portion_paths(home, split)]
        for split in RAW_SPLITS
    }
    for paths in inputs.values():
        for path in paths[1:]:
            if not path.is_file():
                raise DataError(
                    f"Labelled batch file {path} of snapshot {snapshot.id} is missing; restore "
                    "the batch directory from a backup (batches are never rewritten)."
                )
    return inputs


def read_all_labels(paths: list[Path]) -> np.ndarray:
    return np.concatenate([_read_labels(path) for path in paths])


def _read_labels(path: Path) -> np.ndarray:
    """The label column as int8, refusing nulls and values other than 0 and 1."""
    # Not pq.read_table and to_numpy: those import pyarrow.dataset and pandas, ~0.5
    # CPU-seconds the first time in a process.
    labels = pq.ParquetFile(path).read(columns=["label"]).column("label").combine_chunks()
    fix = "re-ingest it with 'sentiment ingest'"
    if labels.null_count:
        raise DataError(
            f"Column 'label' of raw file {path} has {labels.null_count} null value(s); {fix}."
        )
    values = numpy_values(labels)
    bad = values[(values != 0) & (values != 1)]
    if len(bad):
        raise DataError(
            f"Column 'label' of raw file {path} holds {bad[0]} (only 0 and 1 are labels); {fix}."
        )
    return values.astype(np.int8)


def validation_mask(labels: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """Pick a stratified, seeded validation portion: a boolean mask over ``labels``.

    Each label keeps its share: ``round(fraction * count)`` of its rows are drawn.
    """
    generator = np.random.default_rng(seed)
    mask = np.zeros(len(labels), dtype=bool)
    for label in np.unique(labels):
        rows = np.flatnonzero(labels == label)
        chosen = generator.permutation(rows)[: round(fraction * len(rows))]
        mask[chosen] = True
    return mask
