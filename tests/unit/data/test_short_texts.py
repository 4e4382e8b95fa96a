"""The short-text development set through ingest: copied, checked, reused, read back."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sentiment.core.errors import DataError
from sentiment.core.paths import HomeLayout
from sentiment.data.short_texts import (
    SOURCE_ENVIRONMENT_VARIABLE,
    ingest_short_texts,
    read_short_texts,
)
from tests.support.file_opens import inotify_available, watch_opens

TEXTS = ["a good film .", "dull and far too long .", "not bad at all .", "awful ."]
LABELS = [1, 0, 1, 0]


def _write(path: Path, **columns: pa.Array) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(columns), path)
    return path


@pytest.fixture
def source(tmp_path: Path) -> Path:
    return _write(
        tmp_path / "source" / "tiny_dev.parquet",
        review_id=pa.array([f"dev_{index}" for index in range(4)]),
        text=pa.array(TEXTS),
        label=pa.array(LABELS, pa.int64()),
    )


def _files(home: Path) -> list[str]:
    return sorted(str(path.relative_to(home)) for path in home.rglob("*") if path.is_file())


def test_the_set_is_copied_as_it_is_and_read_back(source: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    manifest = ingest_short_texts(source.as_uri(), home)

    assert manifest is not None
    assert (manifest["name"], manifest["rows"], manifest["cache_hit"]) == ("tiny_dev", 4, False)
    assert HomeLayout(home).short_texts.read_bytes() == source.read_bytes()
    read = read_short_texts(home)
    assert read is not None
    assert (read.name, read.texts, read.labels.tolist()) == ("tiny_dev", TEXTS, LABELS)
    assert read.review_ids == [f"dev_{index}" for index in range(4)]


@pytest.mark.skipif(not inotify_available(), reason="needs Linux inotify to see file opens")
def test_a_rerun_reads_and_writes_nothing_and_a_changed_source_is_copied_again(
    source: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    ingest_short_texts(str(source), home)
    copy = HomeLayout(home).short_texts
    before = (copy.stat().st_mtime_ns, _files(home))
    with watch_opens([source.parent, copy.parent]) as opened:
        again = ingest_short_texts(str(source), home)

    assert again is not None and again["cache_hit"] is True
    assert (copy.stat().st_mtime_ns, _files(home)) == before
    assert opened[source] == 0 and opened[copy] == 0

    _write(source, text=pa.array(TEXTS[:2]), label=pa.array(LABELS[:2], pa.int8()))
    changed = ingest_short_texts(str(source), home)
    assert changed is not None and (changed["cache_hit"], changed["rows"]) == (False, 2)
    assert copy.read_bytes() == source.read_bytes()


@pytest.mark.parametrize(
    ("columns", "field"),
    [
        ({"label": pa.array([1, 0])}, "text"),
        ({"text": pa.array(["good .", "bad ."])}, "label"),
        ({"text": pa.array([1, 2]), "label": pa.array([1, 0])}, "text"),
        ({"text": pa.array(["good .", "bad ."]), "label": pa.array(["pos", "neg"])}, "label"),
        ({"text": pa.array(["good .", "bad ."]), "label": pa.array([1, 2])}, "label"),
        ({"text": pa.array(["good .", None]), "label": pa.array([1, 0])}, "text"),
    ],
)
def test_a_wrong_schema_is_one_sentence_naming_the_file_and_field_and_writes_nothing(
    columns: dict[str, pa.Array], field: str, source: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    ingest_short_texts(str(source), home)
    kept = HomeLayout(home).short_texts.read_bytes()
    bad = _write(tmp_path / "bad" / "bad_dev.parquet", **columns)

    with pytest.raises(DataError) as caught:
        ingest_short_texts(str(bad), home)

    message = str(caught.value)
    assert str(bad) in message and f"'{field}'" in message
    assert "--short-texts-source" in message
    assert message.count(". ") == 0 and message.endswith(".")
    # The earlier good copy stays, and nothing temporary is left behind.
    assert HomeLayout(home).short_texts.read_bytes() == kept
    assert [name for name in _files(home) if ".tmp-" in name] == []


def test_a_missing_source_names_the_setting_and_writes_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with pytest.raises(DataError, match=r"nowhere\.parquet does not exist.*SHORT_TEXTS_SOURCE"):
        ingest_short_texts(str(tmp_path / "nowhere.parquet"), home)
    assert not home.exists() or _files(home) == []


def test_without_a_source_nothing_is_done_and_nothing_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: Path
) -> None:
    monkeypatch.delenv(SOURCE_ENVIRONMENT_VARIABLE, raising=False)
    home = tmp_path / "home"
    assert ingest_short_texts(None, home) is None
    assert read_short_texts(home) is None
    assert not home.exists()

    monkeypatch.setenv(SOURCE_ENVIRONMENT_VARIABLE, str(source))
    manifest = ingest_short_texts(None, home)
    assert manifest is not None and manifest["source"] == str(source)
