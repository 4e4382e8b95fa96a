"""Where each stage reads and writes under the pipeline's home: the one authority.

The home is one absolute directory, ``$SENTIMENT_HOME`` or, by default,
``$XDG_DATA_HOME/sentiment`` (``~/.local/share/sentiment``): outside any checkout, so
redeploying from another directory never switches homes and nothing the pipeline
writes lands in git. Its layout::

    cache/aclImdb_v1.tar.gz              downloaded archive (kept for reruns)
    raw/imdb/{train,test,unsup}.parquet  ingested reviews
    raw/short-texts/dev.parquet          the short-text development set, where one is configured
    reports/dataset.md, dataset_lengths.png
    reports/trends.jsonl                 one line per retrain and inbox run (`sentiment history`)
    processed/<key>/                     padded sequences, vectorizer, manifest
    models/<version>/                    model bundles
    models/ledger.jsonl                  registry events
    scores/                              the main job's scored unlabelled reviews
    inbox/  ->  scored/                  review files dropped in, and their scores
    labelled-inbox/                      labelled review files a retrain takes in
    labelled/batches/<batch>/            accepted labelled batches (immutable)
    labelled/rejected/<batch>.parquet    refused rows, each with its reason
    labelled/snapshots/<n>-<id>.json     data snapshots: IMDB + accepted batches in order
    labelled/index/                      normalized-text hashes of IMDB (a cache)
    to-label/queue-<time>.csv            labelling queues: reviews for a person to label
    to-label/.queued.parquet             every review queued so far (text hash, queue)
    .retrain.lock                        held by the retrain that is running
    prefect/                             ``make server``'s Prefect home (database, logs)
    prefect/server.env                   that server's address, read by the CLI
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

HOME_ENVIRONMENT_VARIABLE = "SENTIMENT_HOME"


def default_home() -> Path:
    """Return the absolute home: ``$SENTIMENT_HOME``, else the user's data directory."""
    configured = os.environ.get(HOME_ENVIRONMENT_VARIABLE)
    if configured:
        return Path(configured).expanduser().resolve()
    data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return (Path(data).expanduser() / "sentiment").resolve()


def resolve_home(home: str | Path | None) -> Path:
    """The absolute home for a value the user may have left unset (None or "")."""
    return Path(home).expanduser().resolve() if home else default_home()


@dataclass(frozen=True)
class HomeLayout:
    """Paths of every stage's files under one home directory."""

    home: Path

    @classmethod
    def of(cls, home: str | Path | None) -> HomeLayout:
        """The layout of ``home`` made absolute, or of the default home when unset."""
        return cls(resolve_home(home))

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
    def short_texts_dir(self) -> Path:
        """The short-text development set's copy and its manifest (evaluation only)."""
        return self.raw_dir.parent / "short-texts"

    @property
    def short_texts(self) -> Path:
        """The short-text development set, copied from its source as it is."""
        return self.short_texts_dir / "dev.parquet"

    @property
    def reports_dir(self) -> Path:
        return self.home / "reports"

    @property
    def trends_file(self) -> Path:
        """One line per retrain and inbox run: the champion and the inbox over time."""
        return self.reports_dir / "trends.jsonl"

    @property
    def processed_dir(self) -> Path:
        return self.home / "processed"

    def processed(self, key: str) -> Path:
        """One preprocessing output, named by its key."""
        return self.processed_dir / key

    @property
    def models_dir(self) -> Path:
        return self.home / "models"

    def bundle(self, version: str) -> Path:
        """One model bundle's directory (not checked: see the registry for that)."""
        return self.models_dir / version

    @property
    def ledger(self) -> Path:
        return self.models_dir / "ledger.jsonl"

    @property
    def scores_dir(self) -> Path:
        """Where the main job scores the unlabelled reviews."""
        return self.home / "scores"

    @property
    def inbox_dir(self) -> Path:
        """Review files waiting to be scored by the inbox deployment."""
        return self.home / "inbox"

    @property
    def scored_dir(self) -> Path:
        """The inbox's scored files."""
        return self.home / "scored"

    @property
    def labelled_inbox_dir(self) -> Path:
        """Labelled review files waiting to be taken in by the next retrain."""
        return self.home / "labelled-inbox"

    @property
    def labelled_dir(self) -> Path:
        """Accepted labelled batches, refused rows and data snapshots."""
        return self.home / "labelled"

    @property
    def labelled_batches_dir(self) -> Path:
        return self.labelled_dir / "batches"

    def labelled_batch(self, batch: str) -> Path:
        """One accepted batch's directory (``train.parquet``, ``test.parquet``, manifest)."""
        return self.labelled_batches_dir / batch

    def labelled_rejected(self, batch: str) -> Path:
        """The refused rows of one intake, with the reason of each."""
        return self.labelled_dir / "rejected" / f"{batch}.parquet"

    @property
    def snapshots_dir(self) -> Path:
        return self.labelled_dir / "snapshots"

    @property
    def labelled_index_dir(self) -> Path:
        return self.labelled_dir / "index"

    @property
    def labelled_lock(self) -> Path:
        """Held while a labelled file is taken in, so two intakes never interleave."""
        return self.labelled_dir / ".intake.lock"

    @property
    def to_label_dir(self) -> Path:
        """Labelling queues: the scored reviews the champion is least sure of."""
        return self.home / "to-label"

    @property
    def queue_history(self) -> Path:
        """Every review queued so far, so a later queue never asks for it again."""
        return self.to_label_dir / ".queued.parquet"

    @property
    def queue_lock(self) -> Path:
        """Held while a queue is built, so two never pick the same reviews."""
        return self.to_label_dir / ".queue.lock"

    @property
    def retrain_lock(self) -> Path:
        """Held for a whole retrain, so two retrains of one home never both promote."""
        return self.home / ".retrain.lock"

    @property
    def prefect_dir(self) -> Path:
        """The Prefect home of ``make server``'s server and worker (database, logs)."""
        return self.home / "prefect"

    @property
    def server_file(self) -> Path:
        """The running local server's address (``PREFECT_API_URL=...`` lines), which the
        ``sentiment`` command reads to use that server instead of a temporary one."""
        return self.prefect_dir / "server.env"

    @property
    def runner_file(self) -> Path:
        """The home's warm runner (``cli.home_runner``): its process, socket, code and
        environment fingerprints, as ``KEY=VALUE`` lines."""
        return self.prefect_dir / "runner.env"

    @property
    def runner_socket(self) -> Path:
        """The Unix socket the home's warm runner listens on."""
        return self.prefect_dir / "runner.sock"

    @property
    def runner_lock(self) -> Path:
        """Serialises starting the home's warm runner, so two commands start one."""
        return self.prefect_dir / "runner.lock"
