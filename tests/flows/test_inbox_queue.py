"""After each inbox run the labelling queue is refreshed and published as an artifact."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

from flows.inbox import score_inbox_flow
from sentiment.labelling.config import QueueConfig


def _write_reviews(path: Path, prefix: str, count: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text"])
        for index in range(count):
            writer.writerow([" ".join(f"{prefix}{index}w{word}" for word in range(6)) + " film"])


def _queued(path: str) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_an_inbox_run_refreshes_the_labelling_queue_and_publishes_it(
    champion_home: Path, tmp_path: Path
) -> None:
    from prefect.artifacts import Artifact

    home = tmp_path / "home"
    shutil.copytree(champion_home, home)
    _write_reviews(home / "inbox" / "monday.csv", "mon", 6)
    _write_reviews(home / "inbox" / "tuesday.csv", "tue", 6)

    state = score_inbox_flow(home=str(home), queue=QueueConfig(size=4), return_state=True)

    assert state.is_completed(), state.message
    queue = state.result()["labelling_queue"]
    assert queue["picked"] == 4
    assert Path(queue["output"]).parent == home / "to-label"
    rows = _queued(queue["output"])
    # Two from each scored file, every label left for a person.
    assert (
        sorted(Path(row["source_file"]).name.split(".")[0] for row in rows)
        == ["monday"] * 2 + ["tuesday"] * 2
    )
    assert {row["label"] for row in rows} == {""}
    artifact = Artifact.get("labelling-queue")
    assert artifact is not None
    for row in rows:
        assert row["review_id"] in artifact.data
        assert row["picked_because"] in artifact.data

    # The next inbox run queues only reviews no earlier queue holds.
    _write_reviews(home / "inbox" / "wednesday.csv", "wed", 3)
    again = score_inbox_flow(home=str(home), queue=QueueConfig(size=4), return_state=True)

    later = _queued(again.result()["labelling_queue"]["output"])
    assert len(later) == 4
    assert not {row["text"] for row in later} & {row["text"] for row in rows}
