"""PNG plots inside Markdown artifacts: the Prefect UI renders ``data:`` URIs inline."""

from __future__ import annotations

import base64
from pathlib import Path


def inline_png(data: bytes, alt: str, width: int = 640) -> str:
    """An ``<img>`` holding the PNG ``data`` itself, so it shows wherever the artifact
    does (a relative link would not resolve in the UI)."""
    encoded = base64.b64encode(data).decode("ascii")
    return f'<img alt="{alt}" width="{width}" src="data:image/png;base64,{encoded}">'


def png_markdown(path: Path, alt: str, width: int = 640) -> str:
    """An ``<img>`` with the PNG inlined (and its absolute path), or a note if absent."""
    path = Path(path).resolve()
    if not path.is_file():
        return f"_{alt}: no plot at `{path}`._"
    return f"{inline_png(path.read_bytes(), alt, width)}\n\n`{path}`"
