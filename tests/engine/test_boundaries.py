"""The engine never imports the web side (Django, or demixer's web apps), not even lazily:
it is a library of its own, and ``demixer.cli`` is the one module that knows both."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import demixer.engine

ENGINE = Path(demixer.engine.__file__).parent
WEB = ("django", "demixer.config", "demixer.separation", "demixer.tracks", "demixer.api")


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_no_engine_module_imports_the_web_side() -> None:
    offenders = {
        f"{path.relative_to(ENGINE)}: {name}"
        for path in ENGINE.rglob("*.py")
        for name in imported_modules(path)
        if name.startswith(WEB)
    }
    assert offenders == set()


def test_the_demixer_command_offers_the_engine_and_the_web_commands() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "demixer.cli", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    for command in ("separate", "fetch-models", "serve", "worker"):
        assert command in result.stdout
    refused = subprocess.run(
        [sys.executable, "-m", "demixer.cli", "serve", "--port", "1"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert refused.returncode == 2 and "takes no arguments" in refused.stderr


def test_the_services_do_not_import_the_task_module() -> None:
    """services -> tasks -> services was a cycle; the services now send ``job_queued`` and the
    task module, connected at start-up, delivers the job."""
    services = ENGINE.parent / "separation" / "services.py"
    tree = ast.parse(services.read_text())
    names = imported_modules(services) | {
        f"{node.module}.{alias.name}"
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module
        for alias in node.names
    }
    assert not any(name.endswith(("separation.tasks", "exports.worker")) for name in names)
