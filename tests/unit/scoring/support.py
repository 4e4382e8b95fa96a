"""Helpers the scoring tests share."""

from __future__ import annotations

import gzip
import json
from collections.abc import Sequence
from pathlib import Path

from sentiment.scoring.config import ScoringConfig
from sentiment.scoring.discovery import InputFile
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


ROWS = [
    {"id": 1, "text": "A great film.", "stars": 9},
    {"id": 2, "text": "Awful, with a line\nbreak and, commas", "stars": 1},
    {"id": 3, "text": None, "stars": 5},
]


def write_csv(path: Path, rows: list[dict], compress: bool = False) -> Path:
    lines = ["id,text,stars"]
    for row in rows:
        text = "" if row["text"] is None else '"' + row["text"].replace('"', '""') + '"'
        lines.append(f"{row['id']},{text},{row['stars']}")
    payload = ("\n".join(lines) + "\n").encode()
    path.write_bytes(gzip.compress(payload) if compress else payload)
    return path


def write_jsonl(path: Path, rows: list[dict], compress: bool = False) -> Path:
    payload = "".join(json.dumps(row) + "\n" for row in rows).encode()
    path.write_bytes(gzip.compress(payload) if compress else payload)
    return path
