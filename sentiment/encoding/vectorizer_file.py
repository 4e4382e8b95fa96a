"""The vectorizer's file: its format, version checks and reading with one clear error."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from sentiment.core.errors import ConfigError, DataError
from sentiment.encoding.config import VectorizerConfig

# The file a vectorizer is saved as, beside processed data and inside a bundle.
VECTORIZER_FILE = "vectorizer.json"
FILE_FORMAT = "sentiment-vectorizer"
FILE_VERSION = 1
# Bump when sentiment.encoding.text changes which tokens a text yields: old files are refused.
TOKENIZER_VERSION = 1

Loaded = TypeVar("Loaded")


def vectorizer_payload(vocabulary: list[str], config: VectorizerConfig) -> dict[str, Any]:
    """Settings and vocabulary (in id order) as a JSON-serializable dict."""
    return {
        "format": FILE_FORMAT,
        "version": FILE_VERSION,
        "tokenizer_version": TOKENIZER_VERSION,
        "config": config.to_dict(),
        "vocabulary_size": len(vocabulary),
        "vocabulary": list(vocabulary),
    }


def payload_contents(payload: dict[str, Any]) -> tuple[list[str], VectorizerConfig]:
    """The vocabulary and settings of :func:`vectorizer_payload`'s output.

    Raises:
        ValueError: If the payload is not a vectorizer of this version.
        ConfigError: If its settings are invalid.
    """
    if payload.get("format") != FILE_FORMAT or payload.get("version") != FILE_VERSION:
        raise ValueError(f"it is not a {FILE_FORMAT} file of version {FILE_VERSION}")
    if payload.get("tokenizer_version") != TOKENIZER_VERSION:
        raise ValueError(
            f"it was fitted with tokenizer version {payload.get('tokenizer_version')}, "
            f"this code tokenizes with version {TOKENIZER_VERSION}"
        )
    vocabulary = payload["vocabulary"]
    if not isinstance(vocabulary, list) or not all(isinstance(t, str) for t in vocabulary):
        raise ValueError("its 'vocabulary' is not a list of strings")
    return vocabulary, VectorizerConfig.from_dict(payload["config"])


def read_vectorizer_file(path: Path, build: Callable[[dict[str, Any]], Loaded]) -> Loaded:
    """``build`` applied to the JSON payload of the vectorizer file ``path``.

    Raises:
        DataError: If the file is missing, not JSON, or ``build`` finds it invalid.
    """
    fix = "rerun 'sentiment preprocess' to rewrite it"
    if not path.is_file():
        raise DataError(f"Vectorizer file {path} is missing; {fix}.")
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
        return build(payload)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DataError(f"Vectorizer file {path} is not readable JSON ({error}); {fix}.") from error
    except (KeyError, TypeError, ValueError, ConfigError, AttributeError) as error:
        raise DataError(f"Vectorizer file {path} is invalid: {error}; {fix}.") from error
