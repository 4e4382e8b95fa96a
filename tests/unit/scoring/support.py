"""Helpers the scoring tests share."""

from __future__ import annotations

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
