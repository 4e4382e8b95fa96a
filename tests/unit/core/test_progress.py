"""A long phase's progress lines: a start line, then at most one line per interval."""

from __future__ import annotations

import logging

import pytest

from sentiment.core.progress import Progress

LOGGER = "sentiment.tests.progress"


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == LOGGER]


def test_a_phase_says_it_started_then_how_far_it_got_at_most_once_per_interval(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    with caplog.at_level(logging.INFO, logger=LOGGER):
        progress = Progress(
            logging.getLogger(LOGGER), "Scoring", 1000, "reviews", seconds=5.0, clock=clock
        )
        assert _lines(caplog) == ["Scoring (1,000 reviews): started."]
        clock.now += 4.0
        progress.update(100)  # too soon after the start line
        assert len(_lines(caplog)) == 1
        clock.now += 1.0
        progress.update(250)  # paced from the first update: a slow start is no forecast
        clock.now += 1.0
        progress.advance(50)  # too soon after the last line
        progress.step("writing the output")
        clock.now += 2.5
        with progress:
            pass  # a phase ended without an error says so
    assert _lines(caplog) == [
        "Scoring (1,000 reviews): started.",
        "Scoring: 250 of 1,000 reviews (25%) after 5 s, 150 reviews/s, about 5 s left.",
        "Scoring: writing the output.",
        "Scoring: done 300 reviews in 8.5 s.",
    ]


def test_without_a_total_a_phase_says_how_many_and_how_fast(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    with caplog.at_level(logging.INFO, logger=LOGGER):
        progress = Progress(logging.getLogger(LOGGER), "Epoch 1/2", unit="batches", clock=clock)
        clock.now += 10.0
        progress.update(40)
    assert _lines(caplog) == [
        "Epoch 1/2: started.",
        "Epoch 1/2: 40 batches after 10 s, 4 batches/s.",
    ]


def test_an_interval_of_zero_logs_every_update_and_an_error_ends_no_phase(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    reading = logging.getLogger(LOGGER)
    with (
        caplog.at_level(logging.INFO, logger=LOGGER),
        pytest.raises(ValueError),
        Progress(reading, "Reading", 3, seconds=0, clock=clock) as progress,
    ):
        for done in (1, 2):
            clock.now += 1.0
            progress.update(done)
        raise ValueError("the input broke")
    # A line per update, and no end line.
    assert [line.split(" after")[0] for line in _lines(caplog)] == [
        "Reading (3 reviews): started.",
        "Reading: 1 of 3 reviews (33%)",
        "Reading: 2 of 3 reviews (67%)",
    ]
