"""The side environments (the importer's, the bench's Basic Pitch reference) install exactly their
hashed lock, and a changed lock rebuilds them; checked without building them (no PyTorch here:
tests/engine/test_import*.py build the importer's for real)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name

from bench import basic_pitch_reference
from demixer.engine import locked_env
from demixer.engine.importer import environment
from tests.test_lock import locked

ROOT = Path(__file__).resolve().parents[2]
INPUT_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)")


def pinned_inputs(path: Path) -> dict[str, str]:
    """``{name: version}`` of the exact pins in a lock's ``.in`` file."""
    pins = {}
    for line in path.read_text().splitlines():
        match = INPUT_PIN.match(line)
        if match:
            pins[canonicalize_name(match[1])] = match[2]
    return pins


def hashed_entries(lock: Path) -> list[str]:
    """Each pinned entry of a lock with its ``--hash`` lines (as one string)."""
    return re.split(r"\n(?=[a-z0-9])", lock.read_text().split("\n", 2)[2])


@pytest.mark.parametrize(
    "lock",
    [environment.LOCK, basic_pitch_reference.LOCK],
    ids=["importer", "basic-pitch"],
)
def test_a_lock_pins_its_inputs_with_hashes(lock: Path) -> None:
    pins = locked(lock)
    wanted = pinned_inputs(lock.with_suffix(".in"))
    assert {name: pins.get(name) for name in wanted} == wanted  # `make lock` ran after an edit
    entries = [e for e in hashed_entries(lock) if "==" in e.split("\n")[0]]
    assert len(entries) == len(pins)
    assert all("--hash=sha256:" in entry for entry in entries)


def test_the_importer_gets_pytorch_s_cpu_build_and_the_parity_references() -> None:
    pins = locked(environment.LOCK)
    assert pins["torch"] == "2.13.0+cpu"
    assert {name: pins[name] for name in ("demucs", "audio-separator", "pymss-core")} == {
        "demucs": "4.1.0",
        "audio-separator": "0.47.1",
        "pymss-core": "0.1.14",
    }
    assert pins["onnxruntime"] == "1.32.0"
    assert not any(name.startswith("nvidia-") for name in pins)  # no CUDA build crept in


def test_basic_pitch_s_environment_leaves_tensorflow_out() -> None:
    pins = locked(basic_pitch_reference.LOCK)
    assert "basic-pitch" in pins
    assert not any(name.startswith("tensorflow") for name in pins)


class FakeBuild:
    """Stands in for venv and pip: records each command and leaves what they would."""

    def __init__(self, env: Path) -> None:
        self.env = env
        self.commands: list[list[str]] = []

    def __call__(self, command: list[str], what: str) -> None:
        self.commands.append(command)
        if command[1:3] == ["-m", "venv"]:
            locked_env.python_of(self.env).parent.mkdir(parents=True)
            locked_env.python_of(self.env).touch()


def test_the_importer_environment_installs_its_lock_by_hash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = tmp_path / "importer-venv"
    fake = FakeBuild(env)
    monkeypatch.setattr(locked_env, "_run", fake)
    monkeypatch.setattr(environment, "base_python", lambda: "/usr/bin/python3.11")
    python = environment.ensure(log=lambda line: None, env=env)
    assert python == env / "bin" / "python"
    pip = [str(python), "-m", "pip", "install", "-q", "--require-hashes", "--no-deps"]
    assert fake.commands == [
        ["/usr/bin/python3.11", "-m", "venv", str(env)],
        [*pip, "-r", str(environment.LOCK)],
    ]
    assert environment.is_ready(env)
    environment.ensure(log=lambda line: None, env=env)
    assert len(fake.commands) == 2  # built once


def test_a_changed_lock_rebuilds_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env, lock = tmp_path / "env", tmp_path / "side.lock"
    lock.write_text("six==1.17.0 \\\n    --hash=sha256:" + "0" * 64 + "\n")
    fake = FakeBuild(env)
    monkeypatch.setattr(locked_env, "_run", fake)
    locked_env.ensure(env, lock, lambda: "python3.11", lambda line: None)
    (env / "left-by-the-first-build").touch()
    assert locked_env.is_ready(env, lock)
    lock.write_text(lock.read_text().replace("1.17.0", "1.16.0"))
    assert not locked_env.is_ready(env, lock)
    locked_env.ensure(env, lock, lambda: "python3.11", lambda line: None)
    assert len(fake.commands) == 4
    assert not (env / "left-by-the-first-build").exists()  # built anew, not on top
    assert locked_env.is_ready(env, lock)
