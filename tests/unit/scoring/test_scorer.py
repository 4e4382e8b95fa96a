"""Streaming batch scoring on tiny synthetic files, with a fake model and a real bundle."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sentiment.core.errors import ConfigError
from sentiment.encoding.config import VectorizerConfig
from sentiment.encoding.encoded import EncodingStats
from sentiment.encoding.vectorizer import Vectorizer
from sentiment.modeling.profile import TextProfile, profile_training_data
from sentiment.scoring.config import ScoringConfig
from sentiment.scoring.outputs import (
    LABEL_COLUMN,
    NOTE_COLUMN,
    SCORE_COLUMN,
    VERSION_COLUMN,
    read_scoring_metadata,
    write_failures,
)
from sentiment.scoring.results import FAILED_FILE, FileResult
from sentiment.scoring.summary import ScoringSummary
from tests.support.scoring import (
    FAKE_VOCABULARY,
    SMALL,
    TEXTS,
    FakeModel,
    dump,
    inputs_of,
    score_files,
)

REPOSITORY_ROOT = Path(__file__).resolve().parents[3]


def without_unknown_words(model, texts: list, scores: np.ndarray) -> np.ndarray:
    """Scores as scoring writes them: none for a text without a known word."""
    scores = scores.copy()
    for row, text in enumerate(texts):
        known = isinstance(text, str) and (model.vectorizer.encode([text]) > 1).any()
        if isinstance(text, str) and text.strip() and not known:
            scores[row] = np.nan
    return scores


def test_output_schema_order_scores_and_metadata(tmp_path: Path) -> None:
    source = dump(tmp_path / "in.parquet")
    before = source.read_bytes()
    model = FakeModel()
    (result,) = score_files(inputs_of(source), tmp_path / "out", model, SMALL)
    assert result.status == "scored"
    assert source.read_bytes() == before  # inputs are never modified
    output = pq.read_table(result.output_path)
    original = pq.read_table(source)
    assert output.column_names == [
        *original.column_names,
        SCORE_COLUMN,
        LABEL_COLUMN,
        VERSION_COLUMN,
        NOTE_COLUMN,
    ]
    assert output.schema.field(SCORE_COLUMN).type == pa.float32()
    assert output.select(original.column_names).equals(original)  # rows unchanged, same order
    texts = original.column("text").to_pylist()
    expected = without_unknown_words(model, texts, model.predict_texts(texts))
    scores = np.asarray(output.column(SCORE_COLUMN).to_pylist(), dtype=np.float64)
    np.testing.assert_array_equal(np.isnan(scores), np.isnan(expected))
    np.testing.assert_allclose(scores[~np.isnan(scores)], expected[~np.isnan(expected)], rtol=1e-6)
    labels = output.column(LABEL_COLUMN).to_pylist()
    for score, label in zip(scores, labels, strict=True):
        assert label == (None if np.isnan(score) else "positive" if score >= 0.5 else "negative")
    assert set(output.column(VERSION_COLUMN).to_pylist()) == {model.version}
    metadata = read_scoring_metadata(Path(result.output_path))
    assert metadata is not None
    assert metadata["model_version"] == model.version
    assert float(metadata["threshold"]) == 0.5
    assert metadata["input_fingerprint"].startswith("sha256:")
    assert metadata["text_column"] == "text"
    assert metadata["scored_at"].endswith("+00:00")
    null_rows = int(np.isnan(expected).sum())
    # Rows 2, 3, 4 have no text and row 8 no known word.
    assert null_rows == 4 * 40 // len(TEXTS) + 1
    assert result.profile.null_text_rows == 3 * 40 // len(TEXTS) + 1
    assert result.profile.unknown_text_rows == 40 // len(TEXTS)
    assert result.profile.rows == 40


def test_row_groups_stream_in_bounded_batches(tmp_path: Path) -> None:
    source = dump(tmp_path / "in.parquet", rows=50)
    (result,) = score_files(inputs_of(source), tmp_path / "out", FakeModel(), SMALL)
    metadata = pq.read_metadata(result.output_path)
    assert metadata.num_rows == 50
    assert metadata.num_row_groups == 8  # ceil(50 / 7): each batch written as it finishes
    assert max(metadata.row_group(i).num_rows for i in range(8)) <= 7


@pytest.mark.parametrize("kind", ["csv", "csv.gz", "jsonl", "json.gz"])
def test_text_formats_score_like_parquet(tmp_path: Path, kind: str) -> None:
    rows = [{"id": i, "review": text} for i, text in enumerate(["good film", "bad", "great!"])]
    if kind.startswith("csv"):
        payload = "id,review\n" + "".join(f'{r["id"]},"{r["review"]}"\n' for r in rows)
    else:
        payload = "".join(json.dumps(row) + "\n" for row in rows)
    data = payload.encode()
    path = tmp_path / f"reviews.{kind}"
    path.write_bytes(gzip.compress(data) if kind.endswith(".gz") else data)
    (result,) = score_files(inputs_of(path), tmp_path / "out", FakeModel(), SMALL)
    assert result.status == "scored", result.reason
    assert Path(result.output_path).name == f"reviews.{kind}.parquet"
    output = pq.read_table(result.output_path)
    # CSV fields keep their exact text; JSON numbers stay numbers.
    expected_ids = ["0", "1", "2"] if kind.startswith("csv") else [0, 1, 2]
    assert output.column("id").to_pylist() == expected_ids
    assert output.column(LABEL_COLUMN).to_pylist() == ["positive", "negative", "positive"]


def test_a_corrupt_file_among_good_ones_fails_alone(tmp_path: Path) -> None:
    folder = tmp_path / "dump"
    folder.mkdir()
    dump(folder / "a.parquet")
    (folder / "b.parquet").write_bytes(b"PAR1 this is not parquet")
    (folder / "c.csv.gz").write_bytes(gzip.compress(b"id,text\n1,good\n")[:-12])  # truncated
    (folder / "d.jsonl").write_text('{"id": 1, "body": "good"}\n')
    dump(folder / "e.parquet")
    output = tmp_path / "out"
    results = score_files(inputs_of(folder), output, FakeModel(), SMALL)
    statuses = {Path(r.input_path).name: r.status for r in results}
    assert statuses == {
        "a.parquet": "scored",
        "b.parquet": "failed",
        "c.csv.gz": "failed",
        "d.jsonl": "failed",
        "e.parquet": "scored",
    }
    reasons = {Path(r.input_path).name: r.reason for r in results}
    assert "b.parquet" in reasons["b.parquet"]
    assert "columns: id, body" in reasons["d.jsonl"]
    assert sorted(p.name for p in output.iterdir()) == ["a.parquet", "e.parquet"]
    failed_path = write_failures(output, results)
    failed = [json.loads(line) for line in failed_path.read_text().splitlines()]
    assert [Path(entry["path"]).name for entry in failed] == ["b.parquet", "c.csv.gz", "d.jsonl"]
    summary = ScoringSummary("v", 0.5, str(output), tuple(results), seconds=1.0)
    assert summary.files_failed == 3
    assert "3 of 5 input(s) failed" in summary.failure_message()
    # A later clean run removes the stale failure list.
    assert write_failures(output, [r for r in results if r.status == "scored"]) is None
    assert not (output / FAILED_FILE).exists()


def test_rerun_skips_and_force_rescores(tmp_path: Path) -> None:
    source = dump(tmp_path / "in.parquet")
    output = tmp_path / "out"
    model = FakeModel()
    (first,) = score_files(inputs_of(source), output, model, SMALL)
    calls = model.calls
    (second,) = score_files(inputs_of(source), output, model, SMALL)
    assert second.status == "skipped"
    assert model.calls == calls  # no model work on a skip
    assert second.profile.to_dict() == first.profile.to_dict()
    (forced,) = score_files(inputs_of(source), output, model, ScoringConfig(force=True))
    assert forced.status == "scored" and model.calls > calls
    # A new model version or threshold rescores; touching the file alone does not.
    os.utime(source, ns=(1, 1))
    (touched,) = score_files(inputs_of(source), output, model, SMALL)
    assert touched.status == "skipped"
    (other_model,) = score_files(inputs_of(source), output, FakeModel("v2"), SMALL)
    assert other_model.status == "scored"
    (other_threshold,) = score_files(
        inputs_of(source), output, FakeModel("v2"), ScoringConfig(threshold=0.7)
    )
    assert other_threshold.status == "scored"
    # Changed content rescores.
    dump(source, rows=12)
    (changed,) = score_files(
        inputs_of(source), output, FakeModel("v2"), ScoringConfig(threshold=0.7)
    )
    assert changed.status == "scored" and changed.profile.rows == 12


def test_fault_between_batches_leaves_no_output_and_rerun_completes(tmp_path: Path) -> None:
    source = dump(tmp_path / "in.parquet", rows=30)
    output = tmp_path / "out"

    def fault(rows_done: int, fraction: float) -> None:
        if rows_done >= 14:
            raise RuntimeError("injected fault")

    (failed,) = score_files(inputs_of(source), output, FakeModel(), SMALL, on_batch=fault)
    assert failed.status == "failed" and "injected fault" in failed.reason
    assert list(output.iterdir()) == []
    (done,) = score_files(inputs_of(source), output, FakeModel(), SMALL)
    assert done.status == "scored"
    assert pq.read_metadata(done.output_path).num_rows == 30


class FailingVectorizer(Vectorizer):
    """Fails on the third batch it encodes, as a bug in the encoder would."""

    def __init__(self) -> None:
        super().__init__(FAKE_VOCABULARY, VectorizerConfig(num_words=7, max_length=8))
        self.batches = 0

    def encode_token_lists(self, lists: pa.ListArray) -> tuple[np.ndarray, EncodingStats]:
        self.batches += 1
        if self.batches == 3:
            raise RuntimeError("encoder broke")
        return super().encode_token_lists(lists)


@pytest.mark.parametrize("threads", [0, 2])
def test_an_encoding_error_fails_the_file_and_leaves_no_output(
    tmp_path: Path, threads: int
) -> None:
    good, bad = dump(tmp_path / "good.parquet", rows=30), dump(tmp_path / "bad.parquet", rows=30)
    model = FakeModel()
    model.vectorizer = FailingVectorizer()
    config = ScoringConfig(batch_size=4, read_rows=7, encode_threads=threads)
    results = score_files(inputs_of(bad, good), tmp_path / "out", model, config)
    assert [result.status for result in results] == ["failed", "scored"]
    assert "encoder broke" in results[0].reason
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == ["good.parquet"]


KILLED_CHILD = """
import os, signal, sys
from pathlib import Path
sys.path.insert(0, {root!r})
from tests.support.scoring import SMALL, FakeModel, inputs_of, score_files

def die(rows_done, fraction):
    if rows_done >= 14:
        os.kill(os.getpid(), signal.SIGKILL)

score_files(inputs_of(*[Path(p) for p in sys.argv[2:]]), Path(sys.argv[1]), FakeModel(), SMALL,
            on_batch=die)
"""


def test_killed_process_then_rerun_leaves_exactly_the_right_outputs(tmp_path: Path) -> None:
    first = dump(tmp_path / "a.parquet", rows=10)
    second = dump(tmp_path / "b.parquet", rows=30)
    third = dump(tmp_path / "c.parquet", rows=10)
    output = tmp_path / "out"
    child = subprocess.run(
        [
            sys.executable,
            "-c",
            KILLED_CHILD.format(root=str(REPOSITORY_ROOT)),
            *(str(path) for path in (output, first, second, third)),
        ],
        capture_output=True,
        text=True,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr
    names = sorted(p.name for p in output.iterdir())
    assert "a.parquet" in names  # finished before the kill
    assert "b.parquet" not in names and "c.parquet" not in names  # nothing complete-looking
    assert any(name.startswith(".tmp-") for name in names)  # the killed run's temporary
    results = score_files(inputs_of(first, second, third), output, FakeModel(), SMALL)
    assert [r.status for r in results] == ["skipped", "scored", "scored"]
    assert sorted(p.name for p in output.iterdir()) == ["a.parquet", "b.parquet", "c.parquet"]
    assert [pq.read_metadata(r.output_path).num_rows for r in results] == [10, 30, 10]


def test_input_already_scored_is_refused(tmp_path: Path) -> None:
    source = dump(tmp_path / "in.parquet")
    (result,) = score_files(inputs_of(source), tmp_path / "out", FakeModel(), SMALL)
    (again,) = score_files(
        inputs_of(Path(result.output_path)), tmp_path / "out2", FakeModel(), SMALL
    )
    assert again.status == "failed" and "already has the column sentiment_score" in again.reason


def test_profile_counts_and_round_trip(tmp_path: Path) -> None:
    source = dump(tmp_path / "in.parquet", rows=len(TEXTS))
    model = FakeModel()
    (result,) = score_files(inputs_of(source), tmp_path / "out", model, SMALL)
    profile = result.profile
    assert profile.rows == len(TEXTS) and profile.null_text_rows == 3
    assert profile.unknown_text_rows == 1  # "no known words here"
    assert profile.score_histogram.sum() == len(TEXTS) - 4
    assert profile.length_histogram.sum() == len(TEXTS) - 3  # lengths of texts only
    assert profile.length_quantile(1.0) >= 2990  # the 5,000-word review, in the last bin
    assert 0 < profile.oov_rate < 1
    assert TextProfile.from_dict(profile.to_dict()).to_dict() == profile.to_dict()
    restored = FileResult.from_dict(json.loads(json.dumps(result.to_dict())))
    assert restored == FileResult.from_dict(result.to_dict())
    # Training profiles its data as scoring does: the same figures for the same reviews.
    reference = profile_training_data([source], model.vectorizer)
    summary = ScoringSummary(model.version, 0.5, "out", (result,), 1.0, reference)
    markdown = summary.to_markdown()
    assert "| 1 | 0 | 0 | 9 | 3 | 1 |" in markdown
    assert "out-of-vocabulary rate" in markdown
    assert summary.to_dict()["training_oov_rate"] == pytest.approx(profile.oov_rate)


@pytest.mark.parametrize(
    "settings",
    [
        {"threshold": 1.5},
        {"batch_size": 0},
        {"read_rows": 0},
        {"text_column": " "},
        {"encode_threads": -1},
    ],
)
def test_bad_settings_are_refused(settings: dict) -> None:
    with pytest.raises(ConfigError):
        ScoringConfig(**settings)


def test_scores_equal_the_real_bundles_predict_texts(tmp_path: Path) -> None:
    keras = pytest.importorskip("keras")
    vectorizer_module = pytest.importorskip("sentiment.encoding.vectorizer")
    from sentiment.encoding.vocabulary import fit_vectorizer
    from sentiment.modeling.bundle import load_bundle, save_bundle

    config = vectorizer_module.VectorizerConfig(num_words=50, max_length=12)
    vectorizer = fit_vectorizer(["good great film", "bad awful film", "good film"] * 3, config)
    keras.utils.set_random_seed(1)
    model = keras.Sequential(
        [
            keras.Input(shape=(12,), dtype="int32"),
            keras.layers.Embedding(50, 4),
            keras.layers.Flatten(),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    bundle = load_bundle(save_bundle(tmp_path / "models" / "v1", model, vectorizer, {}))
    source = dump(tmp_path / "in.parquet", rows=23)
    (result,) = score_files(inputs_of(source), tmp_path / "out", bundle, SMALL)
    assert result.status == "scored", result.reason
    scores = pq.read_table(result.output_path).column(SCORE_COLUMN).to_numpy(zero_copy_only=False)
    texts = pq.read_table(source).column("text").to_pylist()
    expected = without_unknown_words(bundle, texts, bundle.predict_texts(texts))
    assert np.isnan(expected).sum() > np.isnan(bundle.predict_texts(texts)).sum()
    np.testing.assert_allclose(scores, expected, rtol=1e-6, equal_nan=True)


def test_any_number_of_encoding_threads_writes_the_same_rows(tmp_path: Path) -> None:
    source = dump(tmp_path / "in.parquet", rows=30)
    tables = []
    for threads in (2, 1, 0):
        config = ScoringConfig(batch_size=4, read_rows=7, encode_threads=threads)
        (result,) = score_files(inputs_of(source), tmp_path / f"out-{threads}", FakeModel(), config)
        tables.append(pq.read_table(result.output_path))
    assert tables[0].equals(tables[1]) and tables[0].equals(tables[2])


def test_wrong_types_fail_the_file_with_the_reason(tmp_path: Path) -> None:
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text('{"text": "good"}\n{"text": 5}\n')
    numbers = tmp_path / "numbers.parquet"
    pq.write_table(pa.table({"text": [1, 2]}), numbers)
    results = score_files(inputs_of(mixed, numbers), tmp_path / "out", FakeModel(), SMALL)
    assert [r.status for r in results] == ["failed", "failed"]
    assert "line 2 column 'text' holds a number" in results[0].reason
    assert "one type" in results[0].reason
    assert "column 'text' holds int64, not text" in results[1].reason


@pytest.mark.skipif(not hasattr(os, "setpriority"), reason="threads cannot be reniced here")
def test_encoding_threads_yield_to_the_model() -> None:
    from sentiment.scoring.scorer import _ENCODE_NICENESS, _lower_thread_priority

    seen: list[tuple[int, int]] = []

    def run() -> None:
        thread = threading.get_native_id()
        before = os.getpriority(os.PRIO_PROCESS, thread)
        _lower_thread_priority()
        seen.append((before, os.getpriority(os.PRIO_PROCESS, thread)))

    worker = threading.Thread(target=run)
    worker.start()
    worker.join()
    ((before, after),) = seen
    assert after == min(19, before + _ENCODE_NICENESS)
    # The calling thread keeps its priority.
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == before


def test_an_input_deleted_after_it_was_planned_fails_saying_so(tmp_path: Path) -> None:
    kept, deleted = dump(tmp_path / "kept.parquet"), dump(tmp_path / "deleted.parquet")
    inputs = inputs_of(deleted, kept)
    deleted.unlink()
    results = score_files(inputs, tmp_path / "out", FakeModel(), SMALL)
    assert [result.status for result in results] == ["failed", "scored"]
    reason = results[0].reason
    assert reason.startswith(f"Input {deleted} was deleted or moved while the run was scoring it (")
    assert reason.endswith("); no output was kept, so score it again once it is back.")


def test_the_seconds_a_rate_counts_leave_out_opening_the_input(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A start-up paid on opening (a first CSV read compiles its scanner: seconds on a
    # fresh install) made a 5-row run report "2 reviews/s". Reading, encoding, scoring
    # and writing the batches count; opening the input does not.
    from sentiment.reading.readers import BatchReader

    opening = BatchReader._open
    start_up = 0.5

    def slow_open(reader: BatchReader) -> None:
        time.sleep(start_up)
        opening(reader)

    monkeypatch.setattr(BatchReader, "_open", slow_open)
    source = dump(tmp_path / "in.parquet", rows=5)
    (result,) = score_files(inputs_of(source), tmp_path / "out", FakeModel(), SMALL)
    assert result.status == "scored" and result.rows == 5
    assert 0.0 < result.seconds < start_up
