"""The environment the suite runs in is exactly the lock file: what was tested is what installs."""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

from packaging.markers import Marker
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)\s*(?:;\s*([^\\]+?))?\s*\\?$")


def locked(path: Path) -> dict[str, str]:
    """``{name: version}`` of the lock's pins whose environment marker holds here."""
    pins = {}
    for line in path.read_text().splitlines():
        match = PIN.match(line)
        if match and (match[3] is None or Marker(match[3]).evaluate()):
            pins[canonicalize_name(match[1])] = match[2]
    return pins


def installed() -> dict[str, str]:
    skip = {"pip", "demixer"}  # the installer itself; the project, installed from the tree
    found = {}
    for dist in metadata.distributions():
        name = canonicalize_name(dist.metadata["Name"])
        if name not in skip:
            found[name] = dist.version
    return found


def test_the_environment_is_the_lock() -> None:
    pins = locked(ROOT / "requirements" / "dev.lock")
    assert len(pins) > 50  # the parser read the file
    assert installed() == pins


def test_the_dev_lock_agrees_with_the_base_lock() -> None:
    base = locked(ROOT / "requirements" / "base.lock")
    dev = locked(ROOT / "requirements" / "dev.lock")
    assert {name: dev.get(name) for name in base} == base


def test_the_parser_reads_markers() -> None:
    line = 'pywin32==312 ; sys_platform == "win32" \\'
    match = PIN.match(line)
    assert match is not None
    assert (match[1], match[2], match[3]) == ("pywin32", "312", 'sys_platform == "win32"')
