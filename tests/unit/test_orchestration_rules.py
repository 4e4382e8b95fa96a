"""The orchestration's shape, read from the source (AST, no Prefect server): only
``HomeLayout`` spells a path under the home, tasks pass paths and small manifests, a task
is one library call, and a flow body has no branch on data. docs/architecture.md names
these tests as the rules' enforcers."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]
PATHS_MODULE = REPOSITORY_ROOT / "sentiment" / "core" / "paths.py"
# The product's code: every place that could spell a path under the home.
PRODUCT_PACKAGES = ("sentiment", "tasks", "flows", "cli", "scripts")
# What a task may take and return: paths, scalars and small manifests (containers of them).
SMALL_TYPES = frozenset(
    {"str", "int", "float", "bool", "None", "dict", "list", "tuple", "Path", "UUID"}
)
CONTAINERS = frozenset({"dict", "list", "tuple"})
# A task body: one library call plus logging, artifacts and events, and nothing more.
MOST_STATEMENTS_IN_A_TASK = 15


def _source_files(*packages: str) -> Iterator[Path]:
    for package in packages:
        yield from sorted((REPOSITORY_ROOT / package).rglob("*.py"))


def _parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _where(path: Path, node: ast.AST) -> str:
    return f"{path.relative_to(REPOSITORY_ROOT)}:{getattr(node, 'lineno', '?')}"


def _decorated_with(function: ast.FunctionDef | ast.AsyncFunctionDef, name: str) -> bool:
    """``@task``, ``@task(...)``, ``@prefect.task`` and so on."""
    for decorator in function.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        if (isinstance(target, ast.Name) and target.id == name) or (
            isinstance(target, ast.Attribute) and target.attr == name
        ):
            return True
    return False


def _functions(module: ast.Module, decorator: str) -> list[ast.FunctionDef]:
    return [
        node
        for node in ast.walk(module)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and _decorated_with(node, decorator)
    ]


def _tasks() -> list[tuple[Path, ast.Module, ast.FunctionDef]]:
    found = [
        (path, module, function)
        for path in _source_files("tasks")
        for module in [_parse(path)]
        for function in _functions(module, "task")
    ]
    assert len(found) > 10, "the tasks were not found: has tasks/ moved?"
    return found


def _without_docstring(body: list[ast.stmt]) -> list[ast.stmt]:
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        return body[1:]
    return body


# --- HomeLayout spells every path under the home -------------------------------------


def _home_names() -> set[str]:
    """Every name ``HomeLayout`` joins onto a path: ``models``, ``ledger.jsonl``, ..."""
    module = _parse(PATHS_MODULE)
    (layout,) = [
        node for node in module.body if isinstance(node, ast.ClassDef) and node.name == "HomeLayout"
    ]
    return {
        operand.value
        for node in ast.walk(layout)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div)
        for operand in (node.left, node.right)
        if isinstance(operand, ast.Constant) and isinstance(operand.value, str)
    }


def _path_parts(node: ast.AST) -> list[ast.expr]:
    """The operands a node joins into a path: ``a / "b"``, ``p.joinpath("b", "c")``,
    ``Path(a, "b")``, ``os.path.join(a, "b")``."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
        return [node.left, node.right]
    if isinstance(node, ast.Call):
        function = node.func
        if isinstance(function, ast.Attribute) and function.attr == "joinpath":
            return list(node.args)
        if isinstance(function, ast.Name) and function.id in {"Path", "PurePath"}:
            return list(node.args[1:])
        if (
            isinstance(function, ast.Attribute)
            and function.attr == "join"
            and isinstance(function.value, ast.Attribute)
            and function.value.attr == "path"
        ):
            return list(node.args[1:])
    return []


def _spelled_home_name(operand: ast.expr, names: set[str]) -> str | None:
    """The home name an operand spells: ``"models"``, ``"models/ledger.jsonl"`` or an
    f-string whose literal text starts with one (``f"models/{version}"``)."""
    if isinstance(operand, ast.Constant) and isinstance(operand.value, str):
        text = operand.value
    elif (
        isinstance(operand, ast.JoinedStr)
        and operand.values
        and isinstance(operand.values[0], ast.Constant)
    ):
        text = str(operand.values[0].value)
    else:
        return None
    first = text.strip("/").split("/")[0]
    return first if first in names else None


def test_only_home_layout_spells_a_path_under_the_home() -> None:
    names = _home_names()
    assert {"models", "ledger.jsonl", "prefect", "server.env", "inbox"} <= names
    spelled = [
        f"{_where(path, node)} joins {name!r}"
        for path in _source_files(*PRODUCT_PACKAGES)
        if path != PATHS_MODULE
        for node in ast.walk(_parse(path))
        for operand in _path_parts(node)
        for name in [_spelled_home_name(operand, names)]
        if name is not None
    ]
    assert spelled == [], "use sentiment.core.paths.HomeLayout instead:\n" + "\n".join(spelled)


# --- Tasks pass paths and small manifests --------------------------------------------


def _imported_from(module: ast.Module) -> dict[str, str]:
    """Each name a module imports with ``from X import name``, mapped to ``X``."""
    return {
        alias.asname or alias.name: node.module
        for node in module.body
        if isinstance(node, ast.ImportFrom) and node.module
        for alias in node.names
    }


def _class_definition(module_name: str, class_name: str) -> ast.ClassDef | None:
    path = REPOSITORY_ROOT.joinpath(*module_name.split(".")).with_suffix(".py")
    if not path.is_file():
        return None
    for node in _parse(path).body:
        if isinstance(node, ast.ClassDef) and node.name == class_name:
            return node
    return None


def _is_frozen_dataclass(definition: ast.ClassDef) -> bool:
    return any(
        isinstance(decorator, ast.Call)
        and getattr(decorator.func, "id", getattr(decorator.func, "attr", None)) == "dataclass"
        and any(
            keyword.arg == "frozen"
            and isinstance(keyword.value, ast.Constant)
            and keyword.value.value is True
            for keyword in decorator.keywords
        )
        for decorator in definition.decorator_list
    )


def _heavy_parts(annotation: ast.expr | None, imports: dict[str, str]) -> list[str]:
    """What in an annotation is neither a small type nor a frozen settings/manifest
    dataclass of the library; ``Any`` is allowed only inside a container
    (``dict[str, Any]``: a manifest), never as a whole parameter or result."""
    if annotation is None:
        return ["(no annotation)"]
    heavy: list[str] = []

    def visit(node: ast.expr, inside_container: bool) -> None:
        if isinstance(node, ast.Constant) and node.value is None:
            return
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):  # X | None
            visit(node.left, inside_container)
            visit(node.right, inside_container)
        elif isinstance(node, ast.Subscript):
            visit(node.value, inside_container)
            elements = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
            for element in elements:
                visit(element, inside_container=True)
        elif isinstance(node, ast.Name) and node.id == "Any":
            if not inside_container:
                heavy.append("Any")
        elif isinstance(node, ast.Name) and node.id in SMALL_TYPES:
            return
        elif isinstance(node, ast.Name) and imports.get(node.id, "").startswith("sentiment."):
            definition = _class_definition(imports[node.id], node.id)
            if definition is None or not _is_frozen_dataclass(definition):
                heavy.append(f"{node.id} (not a frozen dataclass of {imports[node.id]})")
        else:
            heavy.append(ast.unparse(node))

    visit(annotation, inside_container=False)
    return heavy


def test_tasks_take_and_return_only_paths_and_small_manifests() -> None:
    heavy = []
    for path, module, function in _tasks():
        imports = _imported_from(module)
        arguments = function.args
        parameters = [
            *arguments.posonlyargs,
            *arguments.args,
            *arguments.kwonlyargs,
            *([arguments.vararg] if arguments.vararg else []),
            *([arguments.kwarg] if arguments.kwarg else []),
        ]
        for parameter in parameters:
            for part in _heavy_parts(parameter.annotation, imports):
                heavy.append(f"{_where(path, function)} {function.name}({parameter.arg}): {part}")
        for part in _heavy_parts(function.returns, imports):
            heavy.append(f"{_where(path, function)} {function.name} returns {part}")
    assert heavy == [], "a task passes only paths and small manifests:\n" + "\n".join(heavy)


def test_a_frozen_dataclass_holding_a_model_is_not_a_small_manifest() -> None:
    """The check looks at the class itself: a mutable class (a model, a frame) is refused,
    and so is a name that is not the library's."""
    imports = {
        "ModelBundle": "sentiment.modeling.bundle",
        "ResolvedBundle": "sentiment.modeling.resolved_bundle",
        "DataFrame": "pandas",
    }
    assert _heavy_parts(ast.parse("ResolvedBundle | None", mode="eval").body, imports) == []
    assert _heavy_parts(ast.parse("ModelBundle", mode="eval").body, imports) != []
    assert _heavy_parts(ast.parse("list[DataFrame]", mode="eval").body, imports) != []
    assert _heavy_parts(ast.parse("Any", mode="eval").body, imports) == ["Any"]


# --- A task is one library call -------------------------------------------------------


def _statements(body: list[ast.stmt]) -> int:
    """Statements at every depth (a loop's body counts, a docstring does not)."""
    return sum(
        1 for statement in body for node in ast.walk(statement) if isinstance(node, ast.stmt)
    )


def _library_names(module: ast.Module) -> set[str]:
    """The names a module takes from the library: ``from sentiment.x import f``,
    ``import sentiment.x as y``."""
    names = set()
    for node in module.body:
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sentiment"):
            names.update(alias.asname or alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(
                alias.asname or alias.name.split(".")[0]
                for alias in node.names
                if alias.name.startswith("sentiment")
            )
    return names


def _names_from(module: ast.Module, source: str) -> set[str]:
    return {name for name, origin in _imported_from(module).items() if origin == source}


def _root_name(node: ast.expr) -> str | None:
    while isinstance(node, ast.Attribute | ast.Call | ast.Subscript):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def test_a_task_is_one_library_call_plus_logging_artifacts_and_events() -> None:
    long_tasks, no_library_call = [], []
    for path, module, function in _tasks():
        body = _without_docstring(function.body)
        count = _statements(body)
        if count > MOST_STATEMENTS_IN_A_TASK:
            long_tasks.append(f"{_where(path, function)} {function.name}: {count} statements")
        # An event task (tasks/events.py) publishes what the library decided, so it
        # counts as the library call it reports.
        library = _library_names(module) | _names_from(module, "tasks.events")
        calls = {
            _root_name(node.func)
            for statement in body
            for node in ast.walk(statement)
            if isinstance(node, ast.Call)
        }
        if not calls & library:
            no_library_call.append(f"{_where(path, function)} {function.name}")
    assert long_tasks == [], (
        f"a task body is at most {MOST_STATEMENTS_IN_A_TASK} statements; "
        "move the work into the library:\n" + "\n".join(long_tasks)
    )
    assert no_library_call == [], "a task calls into `sentiment.`:\n" + "\n".join(no_library_call)


# --- A flow body has no branch on data ------------------------------------------------


def _flow_code(module: ast.Module) -> list[tuple[ast.FunctionDef, set[str]]]:
    """The module's flows and every function of the module their bodies call, directly or
    not (a branch moved into a helper beside the flow is still in the flow), each with the
    parameters of the flow it serves. A decorator's run-name function is not flow code."""
    local = {
        node.name: node
        for node in module.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }
    found: list[tuple[ast.FunctionDef, set[str]]] = []
    for flow in _functions(module, "flow"):
        parameters = {
            argument.arg for argument in ast.walk(flow.args) if isinstance(argument, ast.arg)
        }
        pending, seen = [flow], set()
        while pending:
            function = pending.pop()
            if function.name in seen:
                continue
            seen.add(function.name)
            found.append((function, parameters))
            for node in (inner for statement in function.body for inner in ast.walk(statement)):
                if isinstance(node, ast.Name) and node.id in local:
                    pending.append(local[node.id])
    return found


def _reads_only(test: ast.expr, parameters: set[str]) -> bool:
    """Whether a condition reads nothing but the flow's parameters: a setting, not data."""
    return not any(isinstance(node, ast.Call) for node in ast.walk(test)) and all(
        node.id in parameters for node in ast.walk(test) if isinstance(node, ast.Name)
    )


def _ends_the_run(statement: ast.If) -> bool:
    """``if ...: [calls]; raise/return``, no ``else``: the run fails or ends there (a
    guard, a failure with its events, the run's end state), it does not go on otherwise."""
    *before, last = statement.body
    return (
        not statement.orelse
        and isinstance(last, ast.Raise | ast.Return)
        and all(isinstance(node, ast.Expr) and isinstance(node.value, ast.Call) for node in before)
    )


def _branches(function: ast.FunctionDef, parameters: set[str]) -> list[ast.AST]:
    nodes = [inner for statement in function.body for inner in ast.walk(statement)]
    return [
        node
        for node in nodes
        if isinstance(node, ast.For | ast.AsyncFor | ast.While | ast.Match | ast.Try)
        or (
            isinstance(node, ast.If)
            and not _reads_only(node.test, parameters)
            and not _ends_the_run(node)
        )
        or (isinstance(node, ast.IfExp) and not _reads_only(node.test, parameters))
    ]


def test_a_flow_body_has_no_branch_on_data() -> None:
    """No loop, ``match`` or ``try`` in a flow; an ``if`` or conditional expression only
    on the flow's parameters (a setting), or an ``if`` that ends the run."""
    flows = 0
    branches = []
    for path in _source_files("flows"):
        module = _parse(path)
        flows += len(_functions(module, "flow"))
        for function, parameters in _flow_code(module):
            branches.extend(
                f"{_where(path, node)} {type(node).__name__.lower()} in {function.name}"
                for node in _branches(function, parameters)
            )
    assert flows >= 7, "the flows were not found: has flows/ moved?"
    assert branches == [], (
        "a flow is wiring: a decision on data goes into a task or the library "
        "(allowed: a loop-free `if` on the flow's parameters, or one that ends the run "
        "with `raise` or `return` after plain calls):\n" + "\n".join(branches)
    )
