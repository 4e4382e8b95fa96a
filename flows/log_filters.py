"""Expected errors are logged as one sentence: the filter that drops their tracebacks.

Installed by the ``flows`` package on import, so every flow module (the CLI's, loaded
when a command runs, and a worker's) has it before its first run; it imports no Prefect.
"""

from __future__ import annotations

import logging

from sentiment.core.errors import SentimentError


class NoTracebackForExpectedErrors(logging.Filter):
    """Drop the traceback Prefect logs for a SentimentError: its message says it all."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], SentimentError):
            record.exc_info = None
            record.exc_text = None
        return True


def install_expected_error_filter() -> None:
    """Add the filter to Prefect's run loggers (idempotent); the worker's flow-run
    processes import the flows, so their logs get it too."""
    for name in ("prefect.flow_runs", "prefect.task_runs"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, NoTracebackForExpectedErrors) for f in logger.filters):
            logger.addFilter(NoTracebackForExpectedErrors())
