"""Help text of a config setting, written once for every place that shows it.

A stage config's field carries its help in its metadata: ``sentiment --help`` reads
``help`` (see ``cli.options``) and Pydantic reads ``description``, so Prefect's run form
of a flow that takes the config describes each setting with the same sentence.
"""

from __future__ import annotations

from typing import Any


def described(text: str, **metadata: Any) -> dict[str, Any]:
    """Field metadata for a setting described by ``text``, plus any other ``metadata``
    (``flag``, ``choices``...) for the command line."""
    return {"help": text, "description": text, **metadata}
