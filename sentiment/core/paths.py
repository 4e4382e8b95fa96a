"""Where each stage reads and writes under the pipeline's home directory.

The home defaults to ``$SENTIMENT_HOME`` or ``./data``. Its layout::

    cache/aclImdb_v1.tar.gz             downloaded archive (kept for reruns)
    raw/imdb/{train,test,unsup}.parquet  ingested reviews
    reports/dataset.md, dataset_lengths.png
    processed/<key>/                     padded sequences, vectorizer, manifest
    models/<version>/                    model bundles
    models/ledger.jsonl                  registry events
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

HOME_ENVIRONMENT_VARIABLE = "SENTIMENT_HOME"


def default_home() -> Path:
    """Return the home from ``$SENTIMENT_HOME``, else ``./data``."""
    return Path(os.environ.get(HOME_ENVIRONMENT_VARIABLE) or "data")


@dataclass(frozen=True)
class HomeLayout:
    """Paths of every stage's files under one home directory."""

    home: Path

    @property
    def cache_dir(self) -> Path:
        return self.home / "cache"

    @property
    def raw_dir(self) -> Path:
        return self.home / "raw" / "imdb"

    def raw_split(self, split: str) -> Path:
        """Raw Parquet of one split: ``train``, ``test`` or ``unsup``."""
        return self.raw_dir / f"{split}.parquet"

    @property
    def reports_dir(self) -> Path:
        return self.home / "reports"

    @property
    def processed_dir(self) -> Path:
        return self.home / "processed"

    @property
    def models_dir(self) -> Path:
        return self.home / "models"

    @property
    def ledger(self) -> Path:
        return self.models_dir / "ledger.jsonl"
