"""Scoring as the flow's tasks do it, with a cheap fake model, for the scoring tests."""

from __future__ import annotations

import gzip
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from sentiment.encoding.config import VectorizerConfig
from sentiment.encoding.vectorizer import Vectorizer
from sentiment.scoring.config import ScoringConfig
from sentiment.scoring.discovery import InputFile, discover_inputs
from sentiment.scoring.outputs import OutputError, prepare_output_directory
from sentiment.scoring.results import FileResult
from sentiment.scoring.scorer import BatchCallback, ScoringModel, score_file


def score_files(
    inputs: Sequence[InputFile],
    output_dir: Path,
    model: ScoringModel,
    config: ScoringConfig,
    on_batch: BatchCallback | None = None,
) -> list[FileResult]:
    """Score inputs one after another into a prepared output directory, as the flow's
    tasks do; an output directory that cannot be written fails every input."""
    try:
        prepare_output_directory(output_dir)
    except OutputError as error:
        return [FileResult(str(item.path), None, "failed", reason=str(error)) for item in inputs]
    return [score_file(item, output_dir, model, config, on_batch) for item in inputs]


# The production vectorizer over a fixed vocabulary: the scorer's tests go through the
# encoding path that real bundles take (ids 2 and 5 are positive words, 3 and 6 negative).
FAKE_VOCABULARY = ["", "[UNK]", "good", "bad", "film", "great", "awful"]


def fake_vectorizer() -> Vectorizer:
    """The production vectorizer over :data:`FAKE_VOCABULARY`."""
    return Vectorizer(FAKE_VOCABULARY, VectorizerConfig(num_words=7, max_length=8))


class FakeModel:
    """Scores sigmoid(#positive words - #negative words); deterministic and cheap."""

    def __init__(self, version: str = "20261129-200000-fake-0001") -> None:
        self.version = version
        self.vectorizer = fake_vectorizer()
        self.calls = 0

    def predict_token_ids(self, token_ids: np.ndarray, batch_size: int = 1024) -> np.ndarray:
        self.calls += 1
        positive = np.isin(token_ids, [2, 5]).sum(axis=1)
        negative = np.isin(token_ids, [3, 6]).sum(axis=1)
        return (1.0 / (1.0 + np.exp(-(positive - negative)))).astype(np.float32)

    def predict_texts(self, texts: Sequence[str | None]) -> np.ndarray:
        scores = np.full(len(texts), np.nan, dtype=np.float32)
        valid = [i for i, text in enumerate(texts) if isinstance(text, str) and text.strip()]
        if valid:
            ids = self.vectorizer.encode([texts[i] for i in valid])
            scores[valid] = self.predict_token_ids(ids)
        return scores


TEXTS = [
    "A good, great film!",
    "bad bad awful",
    None,
    "",
    "   \n ",
    "<br /><br />Good <i>film</i> &amp; great",
    "Ünïcödé — 好的电影 😀 good",
    "film " * 5000,
    "no known words here",
]


def dump(path: Path, rows: int = 40) -> Path:
    """A Parquet dump with an id, the texts repeated, and a non-text column."""
    texts = [TEXTS[i % len(TEXTS)] for i in range(rows)]
    table = pa.table(
        {"review_id": [f"r{i}" for i in range(rows)], "text": texts, "stars": list(range(rows))}
    )
    pq.write_table(table, path)
    return path


def inputs_of(*paths: Path) -> list[InputFile]:
    """The inputs discovered at ``paths``, which must all be readable."""
    discovery = discover_inputs([str(path) for path in paths])
    assert discovery.failures == ()
    return list(discovery.inputs)


SMALL = ScoringConfig(batch_size=4, read_rows=7)


# Rows of the text-format readers' tests: a quoted line break and commas, a missing text.
ROWS = [
    {"id": 1, "text": "A great film.", "stars": 9},
    {"id": 2, "text": "Awful, with a line\nbreak and, commas", "stars": 1},
    {"id": 3, "text": None, "stars": 5},
]


def write_csv(path: Path, rows: list[dict], compress: bool = False) -> Path:
    """Write ``rows`` (of :data:`ROWS`' shape) as CSV, gzip-compressed if asked."""
    lines = ["id,text,stars"]
    for row in rows:
        text = "" if row["text"] is None else '"' + row["text"].replace('"', '""') + '"'
        lines.append(f"{row['id']},{text},{row['stars']}")
    payload = ("\n".join(lines) + "\n").encode()
    path.write_bytes(gzip.compress(payload) if compress else payload)
    return path


def write_jsonl(path: Path, rows: list[dict], compress: bool = False) -> Path:
    """Write ``rows`` as JSON lines, gzip-compressed if asked."""
    payload = "".join(json.dumps(row) + "\n" for row in rows).encode()
    path.write_bytes(gzip.compress(payload) if compress else payload)
    return path
