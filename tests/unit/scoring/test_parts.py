"""Large inputs scored in parts and joined back: equal to one whole-file run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sentiment.scoring.config import ScoringConfig
from sentiment.scoring.discovery import discover_inputs
from sentiment.scoring.outputs import prepare_output_directory
from sentiment.scoring.parts import PARTS_DIRECTORY, assemble_parts, score_part
from sentiment.scoring.shards import plan_shards
from tests.support.scoring import TEXTS, FakeModel, score_files


def _dump(path: Path, rows: int, row_group_rows: int) -> Path:
    texts = [TEXTS[i % len(TEXTS)] for i in range(rows)]
    table = pa.table({"review_id": [f"r{i}" for i in range(rows)], "text": texts})
    pq.write_table(table, path, row_group_size=row_group_rows)
    return path


def _run(source: Path, output: Path, model: FakeModel, config: ScoringConfig):
    prepare_output_directory(output)
    manifests = discover_inputs([str(source)]).manifests()
    plan = plan_shards(manifests, output, model, config)
    outcomes = [score_part(shard, output, model, config) for shard in plan.shards]
    return plan, outcomes


class BatchSensitiveModel(FakeModel):
    """Like a neural network: a row's score moves in its last bits with the batch it is
    predicted in (TensorFlow's kernels block a matrix product by its batch size)."""

    def predict_token_ids(self, token_ids: np.ndarray, batch_size: int = 1024) -> np.ndarray:
        scores = []
        for start in range(0, len(token_ids), batch_size):
            part = token_ids[start : start + batch_size]
            base = super().predict_token_ids(part, batch_size)
            scores.append(base + np.float32(1e-4) * (len(part) % 97))
        return np.concatenate(scores) if scores else np.zeros(0, np.float32)


@pytest.mark.parametrize("row_group_rows", [1000, 64, 7])
def test_parts_joined_equal_the_whole_file_scored_at_once(
    tmp_path: Path, row_group_rows: int
) -> None:
    source = _dump(tmp_path / "big.parquet", rows=1000, row_group_rows=row_group_rows)
    model = FakeModel()
    config = ScoringConfig(batch_size=16, read_rows=50, shard_bytes=source.stat().st_size // 5 + 1)
    (whole,) = score_files(discover_inputs([str(source)]).inputs, tmp_path / "one", model, config)

    plan, outcomes = _run(source, tmp_path / "sharded", model, config)
    assert [shard["kind"] for shard in plan.shards] == ["part"] * 5
    (large,) = plan.large
    result = assemble_parts(large, outcomes, tmp_path / "sharded", model, config)

    assert result.status == "scored", result.reason
    expected = pq.read_table(whole.output_path)
    joined = pq.read_table(result.output_path)
    assert joined.equals(expected)
    assert result.profile == whole.profile
    # The same schema (input metadata included) and the same scoring metadata keys.
    assert pq.read_schema(result.output_path).remove_metadata() == joined.schema.remove_metadata()
    assert set(pq.read_metadata(result.output_path).metadata) == set(
        pq.read_metadata(whole.output_path).metadata
    )
    assert joined.schema.equals(expected.schema, check_metadata=False)
    metadata = pq.read_metadata(result.output_path)
    assert max(metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)) <= 50
    assert not (tmp_path / "sharded" / PARTS_DIRECTORY).exists()
    # A rerun finds the joined output up to date: no shard at all.
    again = plan_shards(
        discover_inputs([str(source)]).manifests(), tmp_path / "sharded", model, config
    )
    assert again.shards == [] and [r.status for r in again.skipped] == ["skipped"]


def test_parts_of_a_killed_run_are_kept_and_a_bad_part_fails_its_input_only(
    tmp_path: Path,
) -> None:
    source = _dump(tmp_path / "big.parquet", rows=200, row_group_rows=50)
    model = FakeModel()
    config = ScoringConfig(read_rows=20, shard_bytes=source.stat().st_size // 4)
    output = tmp_path / "out"
    plan, outcomes = _run(source, output, model, config)
    # A second run over the same parts (as after a killed run) rescans nothing.
    again = [score_part(shard, output, model, config) for shard in plan.shards]
    assert {outcome["status"] for outcome in again} == {"kept"}

    broken = dict(outcomes[2], status="failed", reason="Input big.parquet row 101 is bad.")
    result = assemble_parts(
        plan.large[0], [*outcomes[:2], broken, *outcomes[3:]], output, model, config
    )
    assert result.status == "failed" and "row 101" in result.reason
    assert not (output / "big.parquet").exists()
    assert not (output / PARTS_DIRECTORY / "big.parquet").exists()


def test_an_input_changed_while_its_parts_ran_is_not_kept(tmp_path: Path) -> None:
    source = _dump(tmp_path / "big.parquet", rows=200, row_group_rows=50)
    model = FakeModel()
    config = ScoringConfig(read_rows=20, shard_bytes=source.stat().st_size // 4)
    plan, outcomes = _run(source, tmp_path / "out", model, config)
    _dump(source, rows=200, row_group_rows=40)
    result = assemble_parts(plan.large[0], outcomes, tmp_path / "out", model, config)
    assert result.status == "failed" and "changed while it was being scored" in result.reason
    assert not (tmp_path / "out" / "big.parquet").exists()


def test_json_lines_byte_ranges_joined_equal_the_whole_file(tmp_path: Path) -> None:
    import json

    source = tmp_path / "big.jsonl"
    lines = [
        json.dumps({"id": i, "text": TEXTS[i % len(TEXTS)], "stars": i % 10}) for i in range(600)
    ]
    source.write_text("\n".join(lines) + "\n")
    model = FakeModel()
    config = ScoringConfig(batch_size=16, read_rows=50, shard_bytes=source.stat().st_size // 4)
    (whole,) = score_files(discover_inputs([str(source)]).inputs, tmp_path / "one", model, config)

    plan, outcomes = _run(source, tmp_path / "sharded", model, config)
    assert len(plan.shards) >= 4 and {shard["kind"] for shard in plan.shards} == {"part"}
    starts = [shard["bytes"][2] for shard in plan.shards]
    assert starts[0] == 1 and starts == sorted(starts) and len(set(starts)) == len(starts)
    content = source.read_bytes()
    for shard in plan.shards:
        start, _stop, first_line = shard["bytes"]
        # Every range starts at a line's start, on the line it says.
        assert start == 0 or content[start - 1 : start] == b"\n"
        assert first_line == content[:start].count(b"\n") + 1
    assert plan.shards[-1]["bytes"][1] == len(content)
    result = assemble_parts(plan.large[0], outcomes, tmp_path / "sharded", model, config)
    assert result.status == "scored", result.reason
    assert pq.read_table(result.output_path).equals(pq.read_table(whole.output_path))
    assert result.profile == whole.profile
    again = plan_shards(
        discover_inputs([str(source)]).manifests(), tmp_path / "sharded", model, config
    )
    assert again.shards == [] and [r.status for r in again.skipped] == ["skipped"]


@pytest.mark.parametrize("kind", ["parquet-1000", "parquet-64", "parquet-7", "jsonl"])
def test_parts_see_the_batches_of_a_whole_file_run_so_a_network_scores_them_the_same(
    tmp_path: Path, kind: str
) -> None:
    import json

    if kind == "jsonl":
        source = tmp_path / "big.jsonl"
        lines = [json.dumps({"id": i, "text": TEXTS[i % len(TEXTS)]}) for i in range(1000)]
        source.write_text("\n".join(lines[:500]) + "\n\n" + "\n".join(lines[500:]) + "\n")
    else:
        source = _dump(tmp_path / "big.parquet", rows=1000, row_group_rows=int(kind[8:]))
    model = BatchSensitiveModel()
    config = ScoringConfig(batch_size=16, read_rows=50, shard_bytes=source.stat().st_size // 5)
    (whole,) = score_files(discover_inputs([str(source)]).inputs, tmp_path / "one", model, config)
    plan, outcomes = _run(source, tmp_path / "sharded", model, config)
    assert len(plan.shards) >= 4
    result = assemble_parts(plan.large[0], outcomes, tmp_path / "sharded", model, config)
    assert result.status == "scored", result.reason
    assert pq.read_table(result.output_path).equals(pq.read_table(whole.output_path))


def test_csv_byte_ranges_split_at_record_ends_even_with_line_breaks_inside_quotes(
    tmp_path: Path,
) -> None:
    source = tmp_path / "big.csv"
    records = []
    for i in range(900):
        text = (TEXTS[i % len(TEXTS)] or "").replace('"', "'")
        # Every review holds quoted line breaks and commas, so most line ends are not
        # record ends; one blank line holds no record.
        records.append(f'{i},"{text}\nline two, of {i}\n\nend",{i % 10}\n')
    source.write_text("id,text,stars\n" + "".join(records[:450]) + "\n" + "".join(records[450:]))
    model = BatchSensitiveModel()
    config = ScoringConfig(batch_size=16, read_rows=50, shard_bytes=source.stat().st_size // 5)
    (whole,) = score_files(discover_inputs([str(source)]).inputs, tmp_path / "one", model, config)
    assert whole.status == "scored" and whole.rows == 900

    plan, outcomes = _run(source, tmp_path / "sharded", model, config)
    assert len(plan.shards) >= 4 and {shard["kind"] for shard in plan.shards} == {"part"}
    content = source.read_bytes()
    for shard in plan.shards:
        start, _stop, first_line = shard["bytes"]
        assert first_line == content[:start].count(b"\n") + 1
        assert shard["first_row"] % config.read_rows == 0
    result = assemble_parts(plan.large[0], outcomes, tmp_path / "sharded", model, config)
    assert result.status == "scored", result.reason
    assert pq.read_table(result.output_path).equals(pq.read_table(whole.output_path))
    assert result.profile == whole.profile
    again = plan_shards(
        discover_inputs([str(source)]).manifests(), tmp_path / "sharded", model, config
    )
    assert again.shards == [] and [r.status for r in again.skipped] == ["skipped"]
