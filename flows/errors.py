"""Expected failures end a run with one sentence: no traceback in its logs or state."""

from __future__ import annotations

from prefect.logging import get_run_logger
from prefect.states import Failed, State

from sentiment.core.errors import SentimentError


def expected_failure(error: SentimentError) -> State:
    """Log ``error`` as one line and return the Failed state that carries it."""
    message = str(error)
    get_run_logger().error("%s", message)
    return Failed(message=message)
