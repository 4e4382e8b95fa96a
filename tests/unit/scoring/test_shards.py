"""Planning a run's shards: row ranges of large inputs, small files grouped, up-to-date
inputs skipped."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from sentiment.scoring.config import ScoringConfig
from sentiment.scoring.discovery import discover_inputs
from sentiment.scoring.shards import plan_shards, row_ranges
from tests.support.scoring import FakeModel, score_files


@pytest.mark.parametrize(
    ("row_groups", "shards"),
    [([100], 4), ([25] * 4, 4), ([30, 30, 30, 10], 3), ([1] * 7, 3), ([5], 9), ([0], 2)],
)
def test_row_ranges_cover_every_row_once_in_order(row_groups: list[int], shards: int) -> None:
    ranges = row_ranges(row_groups, shards)
    total = sum(row_groups)
    assert ranges[0][0] == 0 and ranges[-1][1] == total
    assert all(stop > start for start, stop in ranges) or total == 0
    assert all(a[1] == b[0] for a, b in itertools.pairwise(ranges))
    assert len(ranges) <= max(1, shards)


def test_single_row_group_file_is_cut_inside_its_row_group() -> None:
    assert row_ranges([1000], 4) == [(0, 250), (250, 500), (500, 750), (750, 1000)]
    # Boundaries close to the even cut are used, so shards read whole row groups.
    assert row_ranges([30, 30, 30, 10], 3) == [(0, 30), (30, 60), (60, 100)]


def test_small_files_up_to_date_are_skipped_in_planning_not_in_a_task(tmp_path: Path) -> None:
    # A rerun over many small files costs no scoring task: planning already knows them.
    dump = tmp_path / "dump"
    dump.mkdir()
    for index, text in enumerate(["a good film", "a bad film", "fine"]):
        (dump / f"r{index}.csv").write_text(f"id,text\n{index},{text}\n")
    model, config = FakeModel(), ScoringConfig()
    output = tmp_path / "out"
    score_files(discover_inputs([str(dump)]).inputs, output, model, config)
    (dump / "r1.csv").write_text("id,text\n1,changed since\n")

    manifests = discover_inputs([str(dump)], output_dir=output).manifests()
    plan = plan_shards(manifests, output, model, config, cut_large=False)

    assert [result.input_path for result in plan.skipped] == [
        str(dump / "r0.csv"),
        str(dump / "r2.csv"),
    ]
    assert all(result.status == "skipped" for result in plan.skipped)
    assert [[item["path"] for item in shard["files"]] for shard in plan.shards] == [
        [str(dump / "r1.csv")]
    ]
    forced = plan_shards(manifests, output, model, ScoringConfig(force=True), cut_large=False)
    assert not forced.skipped and len(forced.shards[0]["files"]) == 3
