"""The package's import structure, as the design note draws it: no import loops between modules
(imports inside functions count too), no production import of the test helpers, and every
project import inside a function says why it is there."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "demixer"


def modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        found[name.removesuffix(".__init__")] = path
    return found


def resolve(name: str, known: dict[str, Path]) -> str | None:
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def imports(
    module: str, path: Path, tree: ast.Module, known: dict[str, Path]
) -> list[tuple[ast.stmt, str]]:
    """(statement, imported project module) for every import in ``tree`` (the module at
    ``path``), nested ones too."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, *([base] if base else [])])
            targets = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        for target in targets:
            if target.startswith("demixer"):
                resolved = resolve(target, known)
                inside = path.name == "__init__.py" and (resolved or "").startswith(module + ".")
                if resolved and resolved != module and not inside:
                    found.append((node, resolved))
    return found


def graph() -> dict[str, set[str]]:
    known = modules()
    return {
        m: {t for _, t in imports(m, p, ast.parse(p.read_text()), known)} for m, p in known.items()
    }


def loops(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in edges.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_no_import_loops() -> None:
    assert loops(graph()) == []


def test_the_loop_finder_finds_a_loop() -> None:
    assert loops({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert loops({"a": {"b"}, "b": set()}) == []


def test_production_code_never_imports_the_test_helpers() -> None:
    offenders = sorted(
        f"{module} -> {target}"
        for module, targets in graph().items()
        if not module.startswith("demixer.testing")
        for target in targets
        if target.startswith("demixer.testing")
    )
    assert offenders == []


def test_every_project_import_inside_a_function_says_why() -> None:
    """A nested import hides a dependency: it is there for a reason (a heavy library kept out
    of the web process, Django's app loading), and the line or the one above says which."""
    known = modules()
    unexplained = []
    for module, path in known.items():
        text = path.read_text()
        lines, tree = text.splitlines(), ast.parse(text)
        nested = {
            id(node)
            for function in ast.walk(tree)
            if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef)
            for node in ast.walk(function)
            if isinstance(node, ast.Import | ast.ImportFrom)
        }
        for node, _ in imports(module, path, tree, known):
            if id(node) not in nested:
                continue
            # the comment may stand above a block of imports
            first = node.lineno - 1
            while first > 0 and lines[first - 1].strip().startswith(("from ", "import ")):
                first -= 1
            said = "#" in lines[node.lineno - 1] or lines[first - 1].strip().startswith("#")
            if not said:
                unexplained.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert sorted(set(unexplained)) == []
