"""The release stage's errors, shared by its modules without importing one another."""

from __future__ import annotations

from sentiment.core.errors import DataError, SentimentError


class EvaluationError(SentimentError):
    """A bundle cannot be evaluated, or its stored evaluation cannot be read."""


class RegistryError(SentimentError):
    """A registry command cannot be carried out; the ledger is left unchanged."""


class LedgerCorruptError(DataError):
    """A ledger line is not a valid event; the ledger must be repaired by a person."""
