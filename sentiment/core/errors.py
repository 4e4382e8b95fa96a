"""Errors the pipeline raises on bad input.

Every message is one sentence that names the file, the field and the fix, so the CLI
can print it without a traceback.
"""

from __future__ import annotations


class SentimentError(Exception):
    """Base class for every expected failure: bad input, missing stage output, policy."""


class DataError(SentimentError):
    """An input file or archive is missing, corrupt or has the wrong shape."""


class ConfigError(SentimentError):
    """A setting is out of range or settings contradict each other."""


class StageOutputMissingError(SentimentError):
    """An earlier pipeline stage has not produced the output this stage needs."""
