"""Helpers the scoring tests share."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from sentiment.scoring.config import ScoringConfig
from sentiment.scoring.readers import InputFile
from sentiment.scoring.results import FileResult
from sentiment.scoring.scorer import BatchCallback, ScoringModel, score_file


def score_files(
    inputs: Sequence[InputFile],
    output_dir: Path,
    model: ScoringModel,
    config: ScoringConfig,
    on_batch: BatchCallback | None = None,
) -> list[FileResult]:
    """Score inputs one after another, as the flow's file tasks do."""
    return [score_file(item, output_dir, model, config, on_batch) for item in inputs]
