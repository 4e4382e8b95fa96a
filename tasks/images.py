"""PNG plots inside Markdown artifacts: the Prefect UI renders ``data:`` URIs inline."""

from __future__ import annotations

import base64
from pathlib import Path


def png_markdown(path: Path, alt: str, width: int = 640) -> str:
    """An ``<img>`` with the PNG inlined (and its absolute path), or a note if absent."""
    path = Path(path).resolve()
    if not path.is_file():
        return f"_{alt}: no plot at `{path}`._"
    encoded = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<img alt="{alt}" width="{width}" src="data:image/png;base64,{encoded}">\n\n`{path}`'
