"""Long phases say what they are doing: a line when a phase starts, how far it got at
most every few seconds (with its pace, and the time left when the total is known), and
a line when it ends.

The lines go to the phase's module logger, so a task's run logger carries them (the CLI
and ``make`` set ``PREFECT_LOGGING_EXTRA_LOGGERS=sentiment``) as well as the terminal.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from types import TracebackType

# How often a phase under way says how far it got: often enough that no phase is silent
# for long, rarely enough not to flood the run logs.
PROGRESS_SECONDS = 5.0


class Progress:
    """The progress of one phase, logged at most every ``seconds``.

    Args:
        logger: The logger of the module doing the work.
        phase: What is being done, as the start of a sentence (``"Scoring the test
            split"``).
        total: How many units the phase will do, when known.
        unit: What is counted (``"reviews"``, ``"batches"``).
        seconds: The least time between two progress lines (0: a line per update).
        clock: Seconds from a monotonic clock (tests pass their own).
    """

    def __init__(
        self,
        logger: logging.Logger,
        phase: str,
        total: int | None = None,
        unit: str = "reviews",
        seconds: float = PROGRESS_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._logger = logger
        self._phase = phase
        self._total = total
        self._unit = unit
        self._seconds = seconds
        self._clock = clock
        self._started = self._logged = clock()
        self._first: tuple[float, int] | None = None
        self.done = 0
        size = f" ({total:,} {unit})" if total is not None else ""
        logger.info("%s%s: started.", phase, size)

    def update(self, done: int) -> None:
        """Record that ``done`` units are done, and say so if the last line is old enough.

        The pace is measured from the first update on, so a slow first unit (a compiled
        function's first call, a cold cache) does not make the time left absurd.
        """
        self.done = done
        now = self._clock()
        if self._first is None:
            self._first = (now, done)
        if now - self._logged < self._seconds:
            return
        self._logged = now
        elapsed = now - self._started
        since, base = self._first
        steady = now > since and done > base
        pace = (done - base) / (now - since) if steady else done / elapsed if elapsed else 0.0
        left = ""
        if self._total and steady:
            left = f", about {(self._total - done) / pace:.0f} s left"
        share = (
            f" of {self._total:,} {self._unit} ({100.0 * done / self._total:.0f}%)"
            if self._total
            else f" {self._unit}"
        )
        self._logger.info(
            "%s: %s%s after %.0f s, %s/s%s.",
            self._phase,
            f"{done:,}",
            share,
            elapsed,
            f"{pace:,.0f} {self._unit}",
            left,
        )

    def advance(self, count: int = 1) -> None:
        """Record ``count`` more units done (see :meth:`update`)."""
        self.update(self.done + count)

    def step(self, description: str) -> None:
        """Say that the phase moves on to ``description`` (a step without a count)."""
        self._logged = self._clock()
        self._logger.info("%s: %s.", self._phase, description)

    def finish(self) -> float:
        """Say that the phase is done, and return its seconds."""
        elapsed = self._clock() - self._started
        counted = f" {self.done:,} {self._unit}" if self.done else ""
        self._logger.info("%s: done%s in %.1f s.", self._phase, counted, elapsed)
        return elapsed

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if kind is None:
            self.finish()
