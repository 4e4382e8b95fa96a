"""Scheduled retraining on labelled batches: no churn, slices, like-with-like gate, one lock."""

from __future__ import annotations

import csv
import random
import threading
from pathlib import Path
from typing import Any

from flows.retrain import retrain_flow
from sentiment.core.atomic import file_sha256
from sentiment.data.config import ArchiveConfig
from sentiment.modeling.config import TrainConfig
from sentiment.release.champion import champion_version
from sentiment.release.config import GatePolicy
from sentiment.release.evaluation import read_evaluation
from sentiment.release.ledger import read_ledger
from sentiment.release.listing import list_models
from tests.support.imdb_tarball import build_archive
from tests.support.reviews import (
    ARCHIVE_FILLER,
    ARCHIVE_NEGATIVE,
    ARCHIVE_POSITIVE,
    archive_reviews,
)


def _labelled_csv(path: Path, rows: int, seed: int) -> Path:
    generator = random.Random(seed)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        for index in range(rows):
            positive = index % 2 == 0
            words = (ARCHIVE_POSITIVE if positive else ARCHIVE_NEGATIVE) + ARCHIVE_FILLER
            text = " ".join(generator.choice(words) for _ in range(40))
            writer.writerow([text, "Positive" if positive else "negative"])
    return path


def test_retrain_trains_only_on_new_data_and_promotes_once(tmp_path: Path) -> None:
    archive = build_archive(tmp_path / "aclImdb_v1.tar.gz", reviews=archive_reviews(40, 5))
    home = tmp_path / "home"
    inbox = home / "labelled-inbox" / "critics"
    settings: dict[str, Any] = {
        "home": str(home),
        "archive": ArchiveConfig(source=str(archive), sha256=file_sha256(archive)),
        "training": TrainConfig(model="mlp", epochs=2),
        # A tiny synthetic set cannot meet the real floors; the chain is under test here.
        "gate": GatePolicy(minimum_accuracy=0.0, minimum_roc_auc=0.0),
    }

    first = retrain_flow(**settings)
    champion = champion_version(home)
    assert first["promoted"] and champion == first["training"]["version"]

    # Nothing new: nothing is trained and the champion stays.
    state = retrain_flow(**settings, return_state=True)
    assert state.name == "Completed"
    assert state.message == (
        f"up to date: champion {champion} was trained on snapshot "
        f"{list_models(home)[0]['data_snapshot']}"
    )
    assert state.result()["up_to_date"] is True
    assert len(list_models(home)) == 1

    # A labelled batch in the inbox: taken in, trained on, sliced, gated like with like.
    inbox.mkdir(parents=True)
    _labelled_csv(inbox / "week1.csv", 60, seed=11)
    second = retrain_flow(**settings)
    challenger = second["training"]["version"]
    assert second["intake"]["new_rows"] == 60
    assert second["promoted"], second["decision"]
    evaluation = read_evaluation(home / "models" / challenger)
    slices = evaluation["metrics"]["slices"]
    assert set(slices) == {"imdb", "critics"}
    assert slices["imdb"]["rows"] == 80
    assert slices["imdb"]["rows"] + slices["critics"]["rows"] == evaluation["metrics"]["count"]
    assert "lower" in slices["critics"]["accuracy_interval"]
    reevaluated = [
        event
        for event in read_ledger(home)
        if event["event"] == "evaluated" and event["version"] == champion
    ]
    assert len(reevaluated) == 2 and "re-evaluated" in reevaluated[-1]["reason"]
    assert (
        read_evaluation(home / "models" / champion)["test_data"]["rows_sha256"]
        == evaluation["test_data"]["rows_sha256"]
    )
    listed = {entry["version"]: entry for entry in list_models(home)}
    assert listed[challenger]["data_snapshot"] == second["intake"]["snapshot"]
    assert listed[challenger]["metrics"]["slices"]["critics"]["rows"] == slices["critics"]["rows"]
    assert listed[champion]["data_snapshot"] != listed[challenger]["data_snapshot"]

    # Two retrains at once after another batch: the second waits, then finds it done.
    _labelled_csv(inbox / "week2.csv", 40, seed=12)
    results: list[dict[str, Any]] = []
    threads = [
        threading.Thread(target=lambda: results.append(retrain_flow(**settings))) for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 2
    assert sorted(result["up_to_date"] for result in results) == [False, True]
    promotions = [event for event in read_ledger(home) if event["event"] == "promoted"]
    assert len(promotions) == 3
    assert len(list_models(home)) == 3


def test_labels_from_the_queue_are_counted_and_their_slice_reported_before_and_after(
    tmp_path: Path,
) -> None:
    from prefect.artifacts import Artifact

    from sentiment.labelling.config import QueueConfig
    from sentiment.labelling.queue import build_queue

    archive = build_archive(tmp_path / "aclImdb_v1.tar.gz", reviews=archive_reviews(40, 60))
    home = tmp_path / "home"
    settings: dict[str, Any] = {
        "home": str(home),
        "archive": ArchiveConfig(source=str(archive), sha256=file_sha256(archive)),
        "training": TrainConfig(model="mlp", epochs=2),
        "gate": GatePolicy(minimum_accuracy=0.0, minimum_roc_auc=0.0),
    }
    first = retrain_flow(**settings)
    champion = first["training"]["version"]
    # The main job scored the unlabelled reviews into scores/: the queue picks from them.
    queue = build_queue(home, QueueConfig(size=40))
    assert queue.picked == 40
    with open(queue.output, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    # A person labels 30 of the 40 (by the words the archive's classes use); 10 wait.
    for row in rows[:30]:
        words = row["text"].split()
        positive = sum(word in ARCHIVE_POSITIVE for word in words)
        negative = sum(word in ARCHIVE_NEGATIVE for word in words)
        row["label"] = "positive" if positive >= negative else "negative"
    filled = home / "labelled-inbox" / "queue" / "week1.csv"
    filled.parent.mkdir(parents=True)
    with open(filled, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)

    second = retrain_flow(**settings)

    (entry,) = second["intake"]["files"]
    assert (entry["accepted"], entry["unlabelled"], entry["refused"]) == (30, 10, 0)
    outcome = second["queue_labels"]
    assert outcome["labels"] == 30
    queue_slice = outcome["slices"]["queue"]
    challenger = second["training"]["version"]
    assert (queue_slice["champion"], queue_slice["challenger"]) == (champion, challenger)
    slices = read_evaluation(home / "models" / challenger)["metrics"]["slices"]
    assert queue_slice["rows"] == slices["queue"]["rows"] > 0
    assert queue_slice["after"] == slices["queue"]["accuracy"]
    assert (
        queue_slice["before"]
        == (read_evaluation(home / "models" / champion)["metrics"]["slices"]["queue"]["accuracy"])
    )
    report = Artifact.get("retrain-report")
    assert report is not None
    assert "30 new label(s) came from the labelling queue." in report.data
