"""The ``score`` flow and ``sentiment score`` command on a tiny real bundle."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cli.main import main
from flows.score import score_flow
from sentiment.core.errors import StageOutputMissingError
from sentiment.scoring.config import ClusterConfig
from sentiment.scoring.outputs import LABEL_COLUMN, SCORE_COLUMN
from sentiment.scoring.results import FAILED_FILE
from sentiment.scoring.scorer import ScoringFailedError
from tests.support.bundles import SCORING_TEXTS as TEXTS


@pytest.fixture(scope="module")
def home(champion_home: Path) -> Path:
    """A home with one small bundle, promoted to champion (tests/support/bundles.py)."""
    return champion_home


def test_score_command_over_a_mixed_directory(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dump = tmp_path / "dump"
    dump.mkdir()
    pq.write_table(
        pa.table({"id": [1, 2, 3], "text": [TEXTS[0], None, TEXTS[1]]}), dump / "a.parquet"
    )
    (dump / "b.csv.gz").write_bytes(
        gzip.compress(b'review,stars\n"good, fine",8\nboring,2\nzyzzyva quokka,5\n')
    )
    (dump / "c.jsonl").write_text("".join(json.dumps({"text": t}) + "\n" for t in TEXTS))
    (dump / "d.parquet").write_bytes(b"not parquet at all")
    output = tmp_path / "scored"
    arguments = ["--home", str(home), "score", str(dump), "--output", str(output)]

    # The command fails (status 1) only after scoring the three good files.
    assert main(arguments) == 1
    assert sorted(p.name for p in output.iterdir()) == [
        "a.parquet",
        "b.csv.gz.parquet",
        "c.jsonl.parquet",
        FAILED_FILE,
    ]
    (failure,) = [json.loads(line) for line in (output / FAILED_FILE).read_text().splitlines()]
    assert failure["path"].endswith("d.parquet") and "d.parquet" in failure["reason"]
    scored = pq.read_table(output / "a.parquet")
    assert scored.column("id").to_pylist() == [1, 2, 3]
    assert scored.column(LABEL_COLUMN).null_count == 1
    assert pq.read_table(output / "c.jsonl.parquet").column(SCORE_COLUMN).null_count == 0
    with pytest.raises(ScoringFailedError, match=r"1 of 4 input\(s\) failed"):
        score_flow([str(dump)], str(output), home=str(home))

    (dump / "d.parquet").unlink()
    capsys.readouterr()
    assert main(arguments) == 0
    # The last line counts the rows that got no score, for either reason.
    last_line = capsys.readouterr().out.strip().splitlines()[-1]
    assert f"{3 + 3 + len(TEXTS)} rows (1 without text, 1 with no known word)" in last_line
    assert not (output / FAILED_FILE).exists()
    summary = score_flow([str(dump)], str(output), home=str(home))
    assert (summary["files_scored"], summary["files_skipped"], summary["files_failed"]) == (0, 3, 0)
    assert summary["rows"] == 3 + 3 + len(TEXTS) and summary["null_text_rows"] == 1
    assert summary["unknown_text_rows"] == 1

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["scoring-summary"]))
        )
    assert any("| 0 | 3 | 0 |" in str(artifact.data) for artifact in artifacts)


def test_score_without_a_champion_says_what_to_do(tmp_path: Path) -> None:
    source = tmp_path / "a.jsonl"
    source.write_text('{"text": "good"}\n')
    with pytest.raises(StageOutputMissingError, match="No champion model"):
        score_flow([str(source)], str(tmp_path / "out"), home=str(tmp_path / "empty"))


def test_score_flow_runs_the_file_tasks_on_a_dask_scheduler(home: Path, tmp_path: Path) -> None:
    from distributed import LocalCluster

    dump = tmp_path / "dump"
    dump.mkdir()
    for name, texts in (("a", TEXTS[:5]), ("b", TEXTS[5:])):
        pq.write_table(pa.table({"text": texts}), dump / f"{name}.parquet")
    (dump / "c.jsonl").write_text('{"stars": 3}\n')
    in_process = score_flow(
        [str(dump / "a.parquet"), str(dump / "b.parquet")], str(tmp_path / "one"), home=str(home)
    )

    # Worker threads in this process: the flow's Dask path, without paying for processes.
    with LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
    ) as cluster:
        with pytest.raises(ScoringFailedError, match=r"1 of 3 input\(s\) failed"):
            score_flow(
                [str(dump)],
                str(tmp_path / "dask"),
                home=str(home),
                cluster=ClusterConfig(address=cluster.scheduler_address),
            )
        ran_on_dask = set(cluster.scheduler.task_prefixes)

    assert ran_on_dask == {"score_shard_task"}
    assert in_process["files_scored"] == 2
    for name in ("a", "b"):
        expected = pq.read_table(tmp_path / "one" / f"{name}.parquet")
        scored = pq.read_table(tmp_path / "dask" / f"{name}.parquet")
        assert scored.select(expected.column_names).equals(expected)
    (failure,) = (tmp_path / "dask" / FAILED_FILE).read_text().splitlines()
    assert "c.jsonl" in json.loads(failure)["reason"]


def test_encode_threads_option_changes_speed_not_scores(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "reviews.jsonl"
    source.write_text("".join(json.dumps({"text": text}) + "\n" for text in TEXTS * 5))
    outputs = {}
    for threads in ("0", "3"):
        output = tmp_path / f"threads-{threads}"
        command = ["--home", str(home), "score", str(source), "--output", str(output)]
        assert main([*command, "--encode-threads", threads]) == 0
        outputs[threads] = pq.read_table(output / "reviews.jsonl.parquet")
    assert outputs["0"].equals(outputs["3"])

    capsys.readouterr()
    command = ["--home", str(home), "score", str(source), "--output", str(tmp_path / "bad")]
    assert main([*command, "--encode-threads", "-1"]) == 1
    assert "encode_threads is -1; set it to 0 or more" in capsys.readouterr().err
    assert not (tmp_path / "bad").exists()


def test_an_all_up_to_date_rerun_runs_no_scoring_task(home: Path, tmp_path: Path) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterId,
        FlowRunFilterParentFlowRunId,
    )

    dump = tmp_path / "dump"
    dump.mkdir()
    for index in range(5):
        (dump / f"r{index}.csv").write_text(f"id,text\n{index},{TEXTS[index].replace(',', '')}\n")
    output = tmp_path / "scored"
    assert score_flow([str(dump)], str(output), home=str(home))["files_scored"] == 5

    state = score_flow([str(dump)], str(output), home=str(home), return_state=True)
    summary = state.result()
    assert (summary["files_scored"], summary["files_skipped"]) == (0, 5)
    assert len(summary["outputs"]) == 5
    run_id = state.state_details.flow_run_id
    with get_client(sync_client=True) as client:
        subflows = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(
                parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[run_id])
            )
        )
        tasks = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run_id]))
        )
    assert [run.name for run in subflows] == []
    names = {task.name.rsplit("-", 1)[0] for task in tasks}
    assert not any(name.startswith("score") for name in names), names


def test_an_explicit_bundle_outside_the_registry_is_verified_and_recorded(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import shutil

    from sentiment.core.errors import ConfigError, DataError
    from sentiment.release.champion import champion_version
    from sentiment.release.errors import EvaluationError

    version = champion_version(home)
    elsewhere = shutil.copytree(home / "models" / version, tmp_path / "elsewhere" / version)
    as_given = {path.name: path.read_bytes() for path in elsewhere.iterdir()}
    source = tmp_path / "reviews.jsonl"
    source.write_text("".join(json.dumps({"text": text}) + "\n" for text in TEXTS[:4]))
    arguments = ["--home", str(home), "score", str(source), "--bundle", str(elsewhere)]

    assert main([*arguments, "--output", str(tmp_path / "cli")]) == 0
    assert f"(bundle {elsewhere})" in capsys.readouterr().out
    summary = score_flow(
        [str(source)], str(tmp_path / "out"), home=str(home), bundle=str(elsewhere)
    )
    assert (summary["model_source"], summary["bundle_directory"]) == ("path", str(elsewhere))
    metadata = pq.read_metadata(tmp_path / "out" / "reviews.jsonl.parquet").metadata
    assert metadata[b"sentiment.model_source"] == b"path"
    assert metadata[b"sentiment.bundle_path"] == str(elsewhere).encode()
    champion = score_flow([str(source)], str(tmp_path / "champion"), home=str(home))
    assert (champion["model_source"], champion["bundle_directory"]) == (
        "registry",
        str(home / "models" / version),
    )
    metadata = pq.read_metadata(tmp_path / "champion" / "reviews.jsonl.parquet").metadata
    assert metadata[b"sentiment.model_source"] == b"registry"
    # Where the model came from is part of the up-to-date key: the champion rescoring
    # the explicit bundle's output does not skip it.
    again = score_flow([str(source)], str(tmp_path / "out"), home=str(home))
    assert (again["files_scored"], again["files_skipped"]) == (1, 0)
    metadata = pq.read_metadata(tmp_path / "out" / "reviews.jsonl.parquet").metadata
    assert metadata[b"sentiment.model_source"] == b"registry"
    # An explicit bundle is an input: nothing is written into its directory.
    assert {path.name: path.read_bytes() for path in elsewhere.iterdir()} == as_given

    # Verified like a registry bundle: a changed file is refused in one sentence.
    vectorizer = elsewhere / "vectorizer.json"
    vectorizer.write_text(vectorizer.read_text() + " ")
    with pytest.raises(DataError, match="does not match the checksum"):
        score_flow([str(source)], str(tmp_path / "x"), home=str(home), bundle=str(elsewhere))
    # --model still takes only versions of the home's registry, and not with --bundle.
    with pytest.raises(EvaluationError):
        score_flow([str(source)], str(tmp_path / "y"), home=str(home), model=str(elsewhere))
    with pytest.raises(ConfigError, match="not both"):
        score_flow(
            [str(source)], str(tmp_path / "z"), home=str(home), model=version, bundle=str(home)
        )
