"""Expected errors are logged as one sentence: the filter that drops their tracebacks
and the repeats Prefect logs around them.

Installed by the ``flows`` package on import, so every flow module (the CLI's, loaded
when a command runs, and a worker's) has it before its first run; it imports no Prefect.
"""

from __future__ import annotations

import collections
import logging
import re

from sentiment.core.errors import SentimentError

# What Prefect's flow-run process logs, with a traceback, when its flow ended Failed;
# for an expected failure the run's state message and last log line already say it.
_ENGINE_EXIT = "Engine execution exited with unexpected exception"
# The sentences of expected failures already logged, so Prefect's own lines repeating
# them ("Task run failed with exception: ...", "Finished in state Failed('...')") can go.
_logged: collections.deque[str] = collections.deque(maxlen=32)
_TASK_FAILURE = re.compile(r"Finished in state Failed\(.Task run encountered an exception (\w+): ")


def note_expected_failure(sentence: str) -> None:
    """Remember that ``sentence`` (an expected failure) is logged: repeats are dropped."""
    if sentence not in _logged:
        _logged.append(sentence)


def _expected(error: BaseException | None) -> bool:
    # FailedRun: Prefect's stand-in for a run that returned a Failed state (ours, with
    # its one sentence); matched by name, as this module imports no Prefect.
    return isinstance(error, SentimentError) or (
        error is not None
        and type(error).__name__ == "FailedRun"
        and type(error).__module__.startswith("prefect")
    )


def _error_names(error_class: type[BaseException] = SentimentError) -> set[str]:
    names = {error_class.__name__}
    for subclass in error_class.__subclasses__():
        names |= _error_names(subclass)
    return names


def _repeats_an_expected_failure(message: str) -> bool:
    """Whether a "Finished in state Failed(...)" line only repeats an expected failure:
    a sentence already logged, or a task's "exception <a SentimentError>: ..." (the
    flow logs that sentence as it ends)."""
    if any(sentence in message or repr(sentence)[1:-1] in message for sentence in _logged):
        return True
    match = _TASK_FAILURE.match(message)
    return bool(match) and match.group(1) in _error_names()


class NoTracebackForExpectedErrors(logging.Filter):
    """Drop the traceback Prefect logs for a SentimentError (its message says it all),
    the flow-run process's closing traceback of such a run, and Prefect's lines that
    only repeat a sentence already logged."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = str(record.msg)
        if record.exc_info and _expected(record.exc_info[1]):
            error = record.exc_info[1]
            if isinstance(error, SentimentError):
                note_expected_failure(str(error))
            record.exc_info = None
            record.exc_text = None
            # The flow ends by logging the sentence itself (flows.errors).
            return not (message == _ENGINE_EXIT or message.startswith("Task run failed with"))
        if message.startswith("Finished in state Failed"):
            return not _repeats_an_expected_failure(record.getMessage())
        return True


def install_expected_error_filter() -> None:
    """Add the filter to Prefect's run loggers (idempotent); the worker's flow-run
    processes import the flows, so their logs get it too."""
    for name in ("prefect.flow_runs", "prefect.task_runs"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, NoTracebackForExpectedErrors) for f in logger.filters):
            logger.addFilter(NoTracebackForExpectedErrors())
