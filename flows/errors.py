"""Expected failures end a run with one sentence: no traceback in its logs or state."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar

from prefect.logging import get_run_logger
from prefect.states import Failed, State

from flows.log_filters import note_expected_failure
from sentiment.core.errors import SentimentError

Function = TypeVar("Function", bound=Callable[..., Any])


def expected_failure(error: SentimentError) -> State:
    """Log ``error`` as one line and return the Failed state that carries it.

    The state holds the error itself, so a caller of the flow (the CLI, a parent flow)
    gets the same SentimentError back and reports it in one sentence too.
    """
    message = str(error)
    note_expected_failure(message)
    get_run_logger().error("%s", message)
    # The command that called the flow prints the sentence only if no run logged it.
    error.logged_by_run = True  # type: ignore[attr-defined]
    return Failed(message=message, data=error)


def one_sentence_failures(function: Function) -> Function:
    """Decorate a flow's function (under ``@flow``) so that an expected error ends the
    run Failed with the error's sentence as its state message and last log line, instead
    of Prefect's "Flow run encountered an exception" and a traceback. Unexpected errors
    pass through untouched, tracebacks and all."""

    @functools.wraps(function)
    def wrapper(*arguments: Any, **keywords: Any) -> Any:
        try:
            return function(*arguments, **keywords)
        except SentimentError as error:
            return expected_failure(error)

    # Prefect validates parameters against the signature, resolving string annotations
    # in the wrapper's module (this one): hand it the flow's own, already resolved.
    wrapper.__signature__ = inspect.signature(function, eval_str=True)  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]
