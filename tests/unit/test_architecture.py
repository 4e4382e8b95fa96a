"""The library's shape: it imports without the orchestrator (the TFX-template rule), its
stage packages import only downwards and never in a circle, and the unit tests mirror
the packages. docs/architecture.md names these tests as the rules' enforcers."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]
LIBRARY = REPOSITORY_ROOT / "sentiment"
# Lowest first: a package may import its own modules and those of the packages before it.
LAYERS = ("core", "reading", "encoding", "data", "modeling", "release", "scoring", "labelling")
# What the library must never import: the orchestrator and the layers above it.
FORBIDDEN_ROOTS = ("prefect", "prefect_dask", "flows", "tasks", "cli")


def _library_modules() -> list[str]:
    return sorted(
        ".".join(path.relative_to(REPOSITORY_ROOT).with_suffix("").parts).removesuffix(".__init__")
        for path in LIBRARY.rglob("*.py")
    )


def _imports(module: str) -> set[str]:
    """Every module ``module`` imports: top level, in functions and under TYPE_CHECKING."""
    path = REPOSITORY_ROOT.joinpath(*module.split("."))
    path = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            # `from sentiment.encoding import kernels` imports a module, not a name.
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    known = set(_library_modules())
    return {name for name in found if name in known or name.split(".")[0] != "sentiment"}


def _layer(module: str) -> int | None:
    parts = module.split(".")
    return LAYERS.index(parts[1]) if len(parts) > 1 and parts[1] in LAYERS else None


def test_every_library_module_lives_in_a_stage_package() -> None:
    modules = _library_modules()
    assert "sentiment.scoring.scorer" in modules
    strays = [name for name in modules if name != "sentiment" and _layer(name) is None]
    assert strays == []


def test_packages_import_only_their_own_layer_or_lower_ones() -> None:
    upward = []
    for module in _library_modules():
        for imported in _imports(module):
            if imported.startswith("sentiment.") and (_layer(imported) or 0) > (
                _layer(module) or 0
            ):
                upward.append(f"{module} -> {imported}")
    assert upward == []


def test_the_library_never_imports_the_orchestrator() -> None:
    offending = [
        f"{module} -> {imported}"
        for module in _library_modules()
        for imported in _imports(module)
        if imported.split(".")[0] in FORBIDDEN_ROOTS
    ]
    assert offending == []


def test_no_import_circles() -> None:
    graph = {
        module: {name for name in _imports(module) if name.startswith("sentiment.")}
        for module in _library_modules()
    }
    # A package's __init__ (docstring only) is imported on the way to its modules: no edge.
    packages = {module for module in graph if REPOSITORY_ROOT.joinpath(*module.split(".")).is_dir()}
    graph = {module: targets - packages for module, targets in graph.items()}
    assert sum(len(targets) for targets in graph.values()) > 50
    visiting: list[str] = []
    done: set[str] = set()
    circles: list[str] = []

    def visit(module: str) -> None:
        if module in done:
            return
        if module in visiting:
            circles.append(" -> ".join([*visiting[visiting.index(module) :], module]))
            return
        visiting.append(module)
        for target in sorted(graph.get(module, ())):
            visit(target)
        visiting.pop()
        done.add(module)

    for module in sorted(graph):
        visit(module)
    assert circles == []


def test_unit_tests_mirror_the_packages() -> None:
    unit = Path(__file__).resolve().parent
    folders = {path.name for path in unit.iterdir() if path.is_dir() and path.name in LAYERS}
    assert folders == set(LAYERS)
    for layer in LAYERS:
        assert list((unit / layer).glob("test_*.py")), f"tests/unit/{layer} has no tests"


def test_every_library_module_imports_with_prefect_unavailable() -> None:
    modules = _library_modules()
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
