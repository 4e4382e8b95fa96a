"""The ledger: replay, corrupt and torn lines, concurrent and interrupted appends."""

from __future__ import annotations

import multiprocessing
import shutil
from pathlib import Path

import pytest

from cli.main import main
from sentiment.release.champion import champion_version
from sentiment.release.errors import LedgerCorruptError
from sentiment.release.ledger import (
    FORCED,
    PROMOTED,
    REGISTERED,
    ROLLED_BACK,
    locked_ledger,
    new_event,
    read_ledger,
    replay,
)
from sentiment.release.listing import list_models
from sentiment.release.promotion import gate_and_record, rollback
from tests.support.registry import LENIENT, ledger_bytes, make_evaluated


def test_replaying_the_ledger_gives_the_same_champion(tmp_path: Path) -> None:
    make_evaluated(tmp_path, "v1", range(40))
    gate_and_record(tmp_path, "v1", LENIENT)
    make_evaluated(tmp_path, "v2", range(30))
    gate_and_record(tmp_path, "v2", LENIENT)
    rollback(tmp_path, reason="v2 misbehaves", user="tester")
    copy = tmp_path / "copy"
    (copy / "models").mkdir(parents=True)
    shutil.copy(tmp_path / "models" / "ledger.jsonl", copy / "models" / "ledger.jsonl")
    assert champion_version(copy) == champion_version(tmp_path) == "v1"
    assert replay(read_ledger(tmp_path)).champion_history == ["v1"]


def test_corrupt_ledger_line_is_reported_by_number_and_never_rewritten(tmp_path: Path) -> None:
    make_evaluated(tmp_path, "v1", range(40))
    ledger = tmp_path / "models" / "ledger.jsonl"
    lines = ledger.read_bytes().splitlines(keepends=True)
    corrupted = lines[0] + b'{"event": "promoted", "vers\n' + b"".join(lines[1:])
    ledger.write_bytes(corrupted)
    with pytest.raises(LedgerCorruptError, match="Line 2 of the ledger"):
        champion_version(tmp_path)
    with pytest.raises(LedgerCorruptError, match="Line 2"):
        gate_and_record(tmp_path, "v1", LENIENT)
    with pytest.raises(LedgerCorruptError, match="Line 2"), locked_ledger(tmp_path):
        pass  # a writer refuses before it could append
    assert ledger.read_bytes() == corrupted
    # An unfinished last line is a torn append, not history: it is skipped, not fatal
    # (test_a_torn_last_ledger_line_is_set_aside_and_never_blocks_the_registry).
    ledger.write_bytes(b"".join(lines) + b'{"event": "promoted"')
    assert len(read_ledger(tmp_path)) == len(lines)


def _append_many(home: str, writer: int, count: int) -> None:
    for index in range(count):
        event = new_event(REGISTERED, f"w{writer}-{index}", {"writer": writer, "index": index})
        with locked_ledger(Path(home)) as ledger:
            ledger.append(event)


def test_concurrent_appends_from_two_processes_lose_no_event(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    count = 150
    processes = [
        context.Process(target=_append_many, args=(str(tmp_path), writer, count))
        for writer in (1, 2)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
        assert process.exitcode == 0
    recorded = read_ledger(tmp_path)
    assert len(recorded) == 2 * count
    assert {(event["writer"], event["index"]) for event in recorded} == {
        (writer, index) for writer in (1, 2) for index in range(count)
    }
    for writer in (1, 2):
        indices = [event["index"] for event in recorded if event["writer"] == writer]
        assert indices == list(range(count))


def test_a_torn_last_ledger_line_is_set_aside_and_never_blocks_the_registry(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    make_evaluated(tmp_path, "v1", range(40))
    gate_and_record(tmp_path, "v1", LENIENT)
    make_evaluated(tmp_path, "v2", range(30))
    gate_and_record(tmp_path, "v2", LENIENT)
    ledger = tmp_path / "models" / "ledger.jsonl"
    whole = ledger.read_bytes()
    fragment = b'{"event": "promoted", "version": "v3", "times'
    ledger.write_bytes(whole + fragment)  # what a full disk leaves of an append
    assert champion_version(tmp_path) == "v2"
    assert [entry["version"] for entry in list_models(tmp_path)] == ["v1", "v2"]
    assert main(["--home", str(tmp_path), "models"]) == 0
    warnings = [record.getMessage() for record in caplog.records if record.levelname == "WARNING"]
    assert warnings and all(str(ledger) in warning for warning in warnings)
    assert ledger.read_bytes() == whole + fragment  # readers never write
    rollback(tmp_path, reason="v2 misbehaves", user="tester")
    assert champion_version(tmp_path) == "v1"
    (torn,) = ledger.parent.glob("ledger.jsonl.torn-*")
    assert torn.read_bytes() == fragment
    assert ledger.read_bytes().startswith(whole) and ledger.read_bytes().endswith(b"\n")
    assert [event["event"] for event in read_ledger(tmp_path)][-1] == "rolled_back"


def _append_past_a_full_disk(home: str, room: int) -> str:
    import resource
    import signal

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
    ledger = Path(home) / "models" / "ledger.jsonl"
    limit = ledger.stat().st_size + room
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))
    try:
        rollback(Path(home), reason="the disk is nearly full " * 20, user="tester")
    except Exception as error:
        return f"{type(error).__name__}: {error}"
    return "appended"


def test_an_append_that_hits_a_full_disk_lands_whole_or_not_at_all(tmp_path: Path) -> None:
    make_evaluated(tmp_path, "v1", range(40))
    gate_and_record(tmp_path, "v1", LENIENT)
    make_evaluated(tmp_path, "v2", range(30))
    gate_and_record(tmp_path, "v2", LENIENT)
    before = ledger_bytes(tmp_path)
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        outcome = pool.apply(_append_past_a_full_disk, (str(tmp_path), 40))
    assert outcome.startswith("RegistryError") and "ledger.jsonl" in outcome
    assert ledger_bytes(tmp_path) == before
    assert not list((tmp_path / "models").glob("ledger.jsonl.torn-*"))
    assert champion_version(tmp_path) == "v2"


def test_the_champion_never_shows_rolled_back() -> None:
    # v1 promoted again while v2 was champion, then both rollbacks: v1 is champion again,
    # though its own last event is the rollback that undid its second promotion.
    events = [
        new_event(PROMOTED, "v1", {}),
        new_event(PROMOTED, "v2", {}),
        new_event(FORCED, "v1", {"reason": "a hotfix"}),
        new_event(ROLLED_BACK, "v1", {"to_version": "v2"}),
        new_event(ROLLED_BACK, "v2", {"to_version": "v1"}),
    ]
    state = replay(events)
    assert state.champion == "v1"
    assert state.status("v1") == "forced"  # its latest promotion, still in force
    assert state.status("v2") == "rolled back"
