"""The library must import and work without the orchestrator (the TFX-template rule)."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import sentiment

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]


def test_every_library_module_imports_with_prefect_unavailable() -> None:
    modules = sorted(f"sentiment.{info.name}" for info in pkgutil.iter_modules(sentiment.__path__))
    assert "sentiment.scoring" in modules
    # A None entry in sys.modules makes any `import prefect` raise ImportError.
    script = (
        "import importlib, sys\n"
        "sys.modules['prefect'] = None\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "assert not any(m == 'prefect' or m.startswith('prefect.') "
        "for m, v in sys.modules.items() if v is not None)\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPOSITORY_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
