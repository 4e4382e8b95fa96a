from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from sentiment.core.atomic import atomic_directory, atomic_path, settings_fingerprint, write_json


def test_atomic_path_leaves_nothing_when_the_writer_fails(tmp_path: Path) -> None:
    destination = tmp_path / "out.txt"
    destination.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(destination) as temporary:
        temporary.write_text("half")
        raise RuntimeError("crash")
    assert destination.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]


def test_atomic_path_renames_into_place(tmp_path: Path) -> None:
    destination = tmp_path / "sub" / "out.json"
    write_json(destination, {"b": 1, "a": 2})
    assert destination.read_text().splitlines()[1].strip() == '"a": 2,'
    assert sorted(p.name for p in destination.parent.iterdir()) == ["out.json"]


def test_atomic_directory_replaces_only_when_complete(tmp_path: Path) -> None:
    destination = tmp_path / "bundle"
    with atomic_directory(destination) as staging:
        (staging / "a").write_text("1")
    with pytest.raises(RuntimeError), atomic_directory(destination) as staging:
        (staging / "a").write_text("2")
        raise RuntimeError("crash")
    assert (destination / "a").read_text() == "1"
    with atomic_directory(destination) as staging:
        (staging / "b").write_text("3")
    assert sorted(p.name for p in destination.iterdir()) == ["b"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bundle"]


def test_atomic_directory_follows_the_umask(tmp_path: Path) -> None:
    previous = os.umask(0o022)
    try:
        with atomic_directory(tmp_path / "shared") as staging:
            (staging / "a").write_text("1")
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "shared").stat().st_mode) == 0o755


def test_settings_fingerprint_ignores_key_order_but_not_values() -> None:
    assert settings_fingerprint({"a": 1, "b": 2}) == settings_fingerprint({"b": 2, "a": 1})
    assert settings_fingerprint({"a": 1}) != settings_fingerprint({"a": 2})


def test_snapshots_and_bundles_are_fsynced_before_they_are_renamed_into_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A power cut after the rename must not leave an empty file under the final name."""
    log: list[tuple[str, str]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(descriptor: int) -> None:
        log.append(("fsync", os.readlink(f"/proc/self/fd/{descriptor}")))
        real_fsync(descriptor)

    def replace(source: str | Path, destination: str | Path) -> None:
        log.append(("replace", str(source)))
        real_replace(source, destination)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    write_json(tmp_path / "snapshots" / "current.json", {"id": "s1"})
    with atomic_directory(tmp_path / "models" / "v1") as bundle:
        (bundle / "weights").mkdir()
        (bundle / "weights" / "model.keras").write_bytes(b"weights")
        (bundle / "metadata.json").write_text("{}")
    renamed = [index for index, (kind, _) in enumerate(log) if kind == "replace"]
    assert len(renamed) == 2
    json_temporary, bundle_temporary = (log[index][1] for index in renamed)
    before_json, before_bundle = log[: renamed[0]], log[renamed[0] : renamed[1]]
    assert ("fsync", json_temporary) in before_json
    for name in ("weights/model.keras", "metadata.json", "weights", ""):
        assert ("fsync", str(Path(bundle_temporary, name))) in before_bundle, name
    # The renames themselves are made durable by syncing the directories holding them.
    assert ("fsync", str(tmp_path / "snapshots")) in log[renamed[0] :]
    assert ("fsync", str(tmp_path / "models")) in log[renamed[1] :]


# --- issue 27 class 9: temporaries a killed writer leaves behind -------------------------


def test_a_killed_writer_leaves_temporaries_that_name_it_and_only_dead_ones_are_removed(
    tmp_path: Path,
) -> None:
    import signal
    import subprocess
    import sys

    from sentiment.core.atomic import remove_stale_temporaries

    writer = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from pathlib import Path\n"
            "from sentiment.core.atomic import atomic_directory, atomic_path\n"
            "root = Path(sys.argv[1])\n"
            "with atomic_path(root / 'file.parquet') as temporary:\n"
            "    temporary.write_bytes(b'half')\n"
            "    with atomic_directory(root / 'batch') as directory:\n"
            "        (directory / 'train.parquet').write_bytes(b'half')\n"
            "        print('ready', flush=True)\n"
            "        time.sleep(60)\n",
            str(tmp_path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert writer.stdout is not None and writer.stdout.readline() == "ready\n"
    orphans = sorted(path.name for path in tmp_path.iterdir())
    assert len(orphans) == 2 and all(name.startswith(f".tmp-{writer.pid}-") for name in orphans)
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    with atomic_path(tmp_path / "live.parquet") as live:
        live.write_bytes(b"still being written")
        assert remove_stale_temporaries(tmp_path) == 2
        assert [path.name for path in tmp_path.iterdir()] == [live.name]
    assert remove_stale_temporaries(tmp_path / "missing") == 0
