"""The inbox scores what is new or changed and remembers unchanged bad files."""

from __future__ import annotations

import os
from pathlib import Path

from sentiment.scoring.discovery import discover_inputs
from sentiment.scoring.inbox import FAILURES_RECORD, plan_inbox, record_failures
from tests.support.scoring import SMALL, FakeModel, dump, score_files


def test_plan_sorts_new_current_and_known_bad_files(tmp_path: Path) -> None:
    inbox, scored = tmp_path / "inbox", tmp_path / "scored"
    inbox.mkdir()
    model = FakeModel()
    assert plan_inbox(tmp_path / "missing", scored, model.version, 0.5).pending == ()
    good = dump(inbox / "good.parquet", rows=10)
    bad = inbox / "bad.csv"
    bad.write_text("id,body\n1,no text column\n")
    (inbox / ".partial.csv").write_text("hidden: still being copied")

    plan = plan_inbox(inbox, scored, model.version, 0.5)
    assert plan.pending == (bad, good) and plan.up_to_date == () and plan.known_bad == ()

    results = score_files(list(discover_inputs([str(bad), str(good)]).inputs), scored, model, SMALL)
    record = record_failures(scored, results)
    assert list(record) == [str(bad)] and "body" in record[str(bad)]["reason"]
    assert (scored / FAILURES_RECORD).is_file()

    plan = plan_inbox(inbox, scored, model.version, 0.5)
    assert plan.pending == () and plan.up_to_date == (good,) and plan.known_bad == (bad,)
    # A new champion rescores everything it did not fail on.
    assert plan_inbox(inbox, scored, "another-version", 0.5).pending == (good,)

    # Touching the bad file makes it pending again; once fixed it leaves the record.
    bad.write_text("id,text\n1,a fine film\n")
    os.utime(bad, ns=(1, 1))
    assert plan_inbox(inbox, scored, model.version, 0.5).pending == (bad,)
    results = score_files(list(discover_inputs([str(bad)]).inputs), scored, model, SMALL)
    assert record_failures(scored, results) == {}
    assert plan_inbox(inbox, scored, model.version, 0.5).up_to_date == (bad, good)


def test_links_out_and_second_names_are_skipped_and_reported(tmp_path: Path) -> None:
    inbox, scored = tmp_path / "inbox", tmp_path / "scored"
    inbox.mkdir()
    secret = tmp_path / "secret.csv"
    secret.write_text("id,text\n1,not for the inbox\n")
    good = dump(inbox / "good.parquet", rows=10)
    (inbox / "leak.csv").symlink_to(secret)  # a link out of the inbox
    (inbox / "again.parquet").symlink_to(good)  # a second name for a file in it
    os.link(good, inbox / "hard.parquet")  # and a third, by hard link
    (inbox / "folder.csv").mkdir()
    os.mkfifo(inbox / "pipe.csv")

    plan = plan_inbox(inbox, scored, FakeModel().version, 0.5)
    assert plan.pending == (good,)
    reasons = "\n".join(plan.skipped)
    assert len(plan.skipped) == 5, reasons
    assert (
        f"Inbox entry {inbox / 'leak.csv'} is a link to {secret}, outside the inbox, and is not "
        "followed; copy the file into the inbox to score it."
    ) in plan.skipped
    assert f"{inbox / 'again.parquet'} is another name for {good}" in reasons
    assert f"{inbox / 'hard.parquet'} is another name for {good}" in reasons
    assert f"{inbox / 'folder.csv'} is a directory" in reasons
    assert f"{inbox / 'pipe.csv'} is not a regular file" in reasons
    assert plan.to_dict()["skipped"] == list(plan.skipped)
