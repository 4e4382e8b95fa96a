"""The real IMDB archive for end-to-end tests: ingested, preprocessed and trained on
once per session.

The archive is reached only through the product's download step, with the source
taken from ``$SENTIMENT_IMDB_SOURCE`` (``.ci/run`` sets it) or the shared copy beside
the repository. A test that needs it skips with a clear reason where neither exists.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]
SHARED_ARCHIVE = REPOSITORY_ROOT.parent / "shared" / "data" / "aclImdb_v1.tar.gz"


@pytest.fixture(scope="session")
def imdb_source() -> str:
    """The archive source the download step should read, or skip."""
    source = os.environ.get("SENTIMENT_IMDB_SOURCE")
    if source and not source.startswith(("http://", "https://")):
        local = Path(source.removeprefix("file://"))
        if local.exists():
            return source
    if SHARED_ARCHIVE.exists():
        return str(SHARED_ARCHIVE)
    pytest.skip(
        "the real IMDB archive is absent: set SENTIMENT_IMDB_SOURCE to a local copy of "
        f"aclImdb_v1.tar.gz (looked for {SHARED_ARCHIVE})"
    )


@pytest.fixture(scope="session")
def imdb_home(tmp_path_factory: pytest.TempPathFactory, imdb_source: str) -> Path:
    """A pipeline home with the real archive ingested (once per session)."""
    from sentiment.data.ingest import ingest_imdb

    home = tmp_path_factory.mktemp("imdb-home")
    ingest_imdb(source=imdb_source, home=home)
    return home


@pytest.fixture(scope="session")
def processed_default(imdb_home: Path) -> Any:
    """The real data preprocessed with default settings (once per session)."""
    from sentiment.data.config import PreprocessConfig
    from sentiment.data.preprocess import preprocess

    return preprocess(home=imdb_home, config=PreprocessConfig())


def _train_tutorial_model(imdb_home: Path, model: str) -> Any:
    from sentiment.modeling.config import TrainConfig
    from sentiment.modeling.training import train

    # The tutorial models' own defaults: 2 epochs, batch 128.
    return train(imdb_home, TrainConfig(model=model))


@pytest.fixture(scope="session")
def trained_mlp(imdb_home: Path, processed_default: Any) -> Any:
    """The tutorial MLP trained 2 epochs on the real data (once per session; a TrainResult)."""
    return _train_tutorial_model(imdb_home, "mlp")


@pytest.fixture(scope="session")
def trained_cnn(imdb_home: Path, processed_default: Any) -> Any:
    """The tutorial CNN trained 2 epochs on the real data (once per session; a TrainResult)."""
    return _train_tutorial_model(imdb_home, "cnn")


@pytest.fixture(scope="session")
def trained_default(imdb_home: Path) -> Any:
    """The default model trained with its own settings on the real data (once per session;
    a loaded ModelBundle)."""
    from sentiment.data.preprocess import preprocess
    from sentiment.modeling.bundle import load_bundle
    from sentiment.modeling.config import DEFAULT_MODEL, TrainConfig
    from sentiment.modeling.training import train

    config = TrainConfig(model=DEFAULT_MODEL)
    preprocess(imdb_home, config.preprocess_config)
    return load_bundle(train(imdb_home, config).directory)
