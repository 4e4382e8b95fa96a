"""The ``score`` flow and ``sentiment score`` command on a tiny real bundle."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from flows.cli import main
from sentiment.scoring import FAILED_FILE, LABEL_COLUMN, SCORE_COLUMN

TEXTS = ["a great film, great acting", "an awful film, awful plot", "fine cast", "boring"] * 3


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home with one small bundle, promoted to champion."""
    from sentiment.bundle import new_version, save_bundle
    from sentiment.models import build_model
    from sentiment.registry import record_event
    from sentiment.vectorizer import Vectorizer, VectorizerConfig

    home = tmp_path_factory.mktemp("home")
    vectorizer = Vectorizer.fit(TEXTS, VectorizerConfig(num_words=30, max_length=8))
    version = new_version("mlp")
    save_bundle(
        home / "models" / version,
        build_model("mlp", vectorizer.config),
        vectorizer,
        {"model": {"name": "mlp"}},
    )
    record_event(home, "promoted", version)
    raw = home / "raw" / "imdb"
    raw.mkdir(parents=True)
    pq.write_table(pa.table({"review_id": ["t0", "t1"], "text": TEXTS[:2]}), raw / "train.parquet")
    return home


def test_score_command_over_a_mixed_directory(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dump = tmp_path / "dump"
    dump.mkdir()
    pq.write_table(
        pa.table({"id": [1, 2, 3], "text": [TEXTS[0], None, TEXTS[1]]}), dump / "a.parquet"
    )
    (dump / "b.csv.gz").write_bytes(gzip.compress(b'review,stars\n"good, fine",8\nboring,2\n'))
    (dump / "c.jsonl").write_text("".join(json.dumps({"text": t}) + "\n" for t in TEXTS))
    (dump / "d.parquet").write_bytes(b"not parquet at all")
    output = tmp_path / "scored"
    arguments = ["--home", str(home), "score", str(dump), "--output", str(output)]

    assert main(arguments) == 1
    error = capsys.readouterr().err
    assert "1 of 4 input(s) failed" in error and FAILED_FILE in error
    assert sorted(p.name for p in output.iterdir()) == [
        "a.parquet",
        "b.parquet",
        "c.parquet",
        FAILED_FILE,
    ]
    (failure,) = [json.loads(line) for line in (output / FAILED_FILE).read_text().splitlines()]
    assert failure["path"].endswith("d.parquet") and "d.parquet" in failure["reason"]
    scored = pq.read_table(output / "a.parquet")
    assert scored.column("id").to_pylist() == [1, 2, 3]
    assert scored.column(LABEL_COLUMN).null_count == 1
    assert pq.read_table(output / "c.parquet").column(SCORE_COLUMN).null_count == 0

    (dump / "d.parquet").unlink()
    assert main(arguments) == 0
    printed = capsys.readouterr().out
    assert "Scored 0 file(s), skipped 3 up to date" in printed
    assert not (output / FAILED_FILE).exists()

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["scoring-summary"]))
        )
    assert artifacts
    assert any("| 0 | 3 | 0 |" in str(artifact.data) for artifact in artifacts)


def test_score_without_a_champion_says_what_to_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "a.jsonl"
    source.write_text('{"text": "good"}\n')
    status = main(["--home", str(tmp_path / "empty"), "score", str(source), "--output", "out"])
    assert status == 1
    assert "No champion model" in capsys.readouterr().err
