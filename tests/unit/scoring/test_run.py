"""A scoring run from plan to results, as both scoring flows run it."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from sentiment.scoring.config import ScoringConfig
from sentiment.scoring.discovery import discover_inputs
from sentiment.scoring.run import collect_results, plan_run, score_shard, shard_label
from tests.support.scoring import TEXTS, FakeModel, score_files


def test_a_run_gives_every_input_one_result_failures_first_then_in_input_order(
    tmp_path: Path,
) -> None:
    dump = tmp_path / "dump"
    dump.mkdir()
    texts = [TEXTS[index % len(TEXTS)] for index in range(400)]
    pq.write_table(pa.table({"text": texts}), dump / "a-large.parquet", row_group_size=50)
    for name in ("b", "c", "d"):
        (dump / f"{name}.csv").write_text(f"id,text\n1,{name} is a good film\n")
    (dump / "e.jsonl").write_text('{"stars": 3}\n')  # no text column: fails when scored
    model, output = FakeModel(), tmp_path / "out"
    size = (dump / "a-large.parquet").stat().st_size
    config = ScoringConfig(read_rows=50, shard_bytes=size // 3 + 1, task_files=1)
    (c_result,) = score_files(discover_inputs([str(dump / "c.csv")]).inputs, output, model, config)
    missing = str(tmp_path / "nowhere" / "*.csv")

    plan = plan_run([missing, str(dump)], str(output), config, model, cut_large=True)
    assert [result["input_path"] for result in plan["skipped"]] == [c_result.input_path]
    assert [shard_label(shard) for shard in plan["shards"]] == [
        "a-large.parquet-part-1-of-3",
        "a-large.parquet-part-2-of-3",
        "a-large.parquet-part-3-of-3",
        "b.csv.parquet",
        "d.csv.parquet",
        "e.jsonl.parquet",
    ]
    progress: list[float] = []
    # Shards finish in any order on a cluster: the results come back in input order.
    outcomes = [
        score_shard(shard, str(output), model, config, progress.append)
        for shard in reversed(plan["shards"])
    ]
    collected = collect_results(plan, outcomes, str(output), model, config)

    results = collected["results"]
    assert [(Path(r["input_path"]).name, r["status"]) for r in results] == [
        ("*.csv", "failed"),
        ("a-large.parquet", "scored"),
        ("b.csv", "scored"),
        ("c.csv", "skipped"),
        ("d.csv", "scored"),
        ("e.jsonl", "failed"),
    ]
    assert [Path(r["input_path"]).name for r in collected["joined"]] == ["a-large.parquet"]
    assert pq.read_table(output / "a-large.parquet").num_rows == 400
    assert progress and all(0.0 < share <= 1.0 for share in progress)
