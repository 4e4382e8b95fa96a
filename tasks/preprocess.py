"""Prefect task of the preprocessing stage: vectorize raw reviews, publish a summary."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import TaskRun
from prefect.states import State
from prefect.tasks import Task

from sentiment.core.errors import SentimentError
from sentiment.data.config import PreprocessConfig
from sentiment.data.preprocess import preprocess


def retry_on_io_error(task: Task[..., Any], task_run: TaskRun, state: State) -> bool:
    """Prefect ``retry_condition_fn``: retry only an operating-system I/O failure.

    Bad input and bad settings (``SentimentError``) fail the same way every time.
    """
    try:
        state.result()
    except SentimentError:
        return False
    except OSError:
        return True
    except Exception:
        return False
    return False


@task(
    name="preprocess",
    cache_policy=NO_CACHE,
    retries=1,
    retry_delay_seconds=5,
    retry_condition_fn=retry_on_io_error,
)
def preprocess_task(home: str, config: PreprocessConfig, tokenize_workers: int) -> dict[str, Any]:
    """Vectorize ``raw/imdb`` into ``processed/<key>`` (or reuse it) and publish a summary.

    Args:
        home: The pipeline home.
        config: The settings.
        tokenize_workers: See ``TokenizingConfig.tokenize_workers``.

    Returns:
        A small manifest: key, directory, cache hit, rows and OOV rate per split, seconds.
    """
    result = preprocess(Path(home), config, workers=tokenize_workers)
    get_run_logger().info("%s.", result.summary())
    create_markdown_artifact(
        markdown=result.to_markdown(),
        key="preprocess-summary",
        description="Preprocessing settings, rows per split, coverage and OOV rates.",
    )
    return result.to_manifest()
