"""``demixer remote`` against a live ``demixer serve`` (granian, the real worker and model):
a 3 s clip goes up, its progress is polled, and decodable FLAC stems come back."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from demixer.engine import audio
from tests.web.test_serve import ROOT, serve  # noqa: F401 (the live server fixture)

DEMIXER = str(Path(sys.executable).with_name("demixer"))
MAKE_TOKEN = """
import django
django.setup()
from django.contrib.auth import get_user_model
from demixer.api import tokens
user = get_user_model().objects.create_user("alice", "alice@example.com", "pw")
print(tokens.create(user, "remote test")[1])
"""


def wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 120
    while True:
        assert process.poll() is None, log.read_text()
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=5):  # noqa: S310 (loopback)
                return
        except OSError:
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.3)


def remote(args: list[str], env: dict[str, str], timeout: float = 300):
    return subprocess.run(
        [DEMIXER, "remote", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.mark.model
@pytest.mark.slow
def test_remote_separate_then_list(serve, make_clip, tmp_path) -> None:  # noqa: F811
    process, env, log = serve
    made = subprocess.run(
        [sys.executable, "-c", MAKE_TOKEN],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip().splitlines()[-1]
    url = f"http://127.0.0.1:{env['DEMIXER_PORT']}"
    wait_until_up(url, process, log)
    home = tmp_path / "home"
    client_env = {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
    }

    missing = remote(["list", "--url", url], client_env)
    assert missing.returncode == 2 and "no API token" in missing.stderr

    out = tmp_path / "stems"
    clip = make_clip(3.0, seed=41, kind="flac")
    done = remote(
        ["separate", str(clip), "--url", url, "-o", str(out)],
        client_env | {"DEMIXER_TOKEN": token},
    )
    assert done.returncode == 0, done.stdout + done.stderr + log.read_text()[-3000:]
    folder = out / clip.stem
    assert sorted(p.name for p in folder.iterdir()) == [
        "bass.flac",
        "drums.flac",
        "other.flac",
        "vocals.flac",
    ]
    for stem in folder.iterdir():
        decoded = audio.decode(stem, rate=None)
        assert decoded.rate == 44100
        assert abs(decoded.samples.shape[1] / 44100 - 3.0) < 0.05

    # the token from the config file, and the server's address too
    config = home / ".config" / "demixer" / "remote.toml"
    config.parent.mkdir(parents=True)
    config.write_text(f'url = "{url}"\ntoken = "{token}"\n')
    listed = remote(["list"], client_env)
    assert listed.returncode == 0, listed.stderr
    assert "done" in listed.stdout and clip.stem in listed.stdout

    config.write_text(f'url = "{url}"\ntoken = "dmx_revoked_or_wrong"\n')
    refused = remote(["list"], client_env)
    assert refused.returncode == 2 and "401 invalid_token" in refused.stderr


def test_the_token_is_never_taken_from_the_command_line(tmp_path) -> None:
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path)}
    result = remote(["--token", "dmx_x", "list", "--url", "http://127.0.0.1:1"], env)
    assert result.returncode == 2 and "error:" in result.stderr


def test_an_unreachable_server_is_one_line(tmp_path) -> None:
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "DEMIXER_TOKEN": "dmx_x"}
    result = remote(["list", "--url", "http://127.0.0.1:1"], env)
    assert result.returncode == 2
    assert result.stderr.startswith("demixer remote: cannot reach http://127.0.0.1:1")
    assert "Traceback" not in result.stderr
