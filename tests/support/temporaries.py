"""Temporaries left behind by a writer that died, for the stale-temporary tests."""

from __future__ import annotations

from pathlib import Path


def dead_pid() -> int:
    """The id of a process that has exited (and been reaped)."""
    import subprocess
    import sys

    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def plant_orphans(directory: Path, pid: int) -> list[Path]:
    """A file and a directory named as temporaries of process ``pid``."""
    directory.mkdir(parents=True, exist_ok=True)
    orphan_file = directory / f".tmp-{pid}-0badf00d-part.parquet"
    orphan_file.write_bytes(b"half written")
    orphan_directory = directory / f".tmp-{pid}-k1ll3d99-batch"
    orphan_directory.mkdir()
    (orphan_directory / "train.parquet").write_bytes(b"half written")
    return [orphan_file, orphan_directory]
