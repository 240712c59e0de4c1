"""A web process never loads the engine proper: onnxruntime (and scipy, which the host DSP
needs) stay out of it, even after it has served pages, taken an upload and queued the job.
They cost a web process ~80 MiB and 0.65 s of start-up for nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from demixer.testing import signals
from demixer.testing.files import write_audio

HEAVY = ("onnxruntime", "scipy", "demixer.engine.htdemucs.model", "demixer.engine.separate")

# a fresh interpreter: this test process has long loaded the engine for other tests
SCRIPT = """
import json, os, sys
import django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
import demixer.config.urls  # every view module, the API and the admin

user = get_user_model().objects.create_user("alice", "alice@example.com", "pw")
client = Client(HTTP_HOST="127.0.0.1")
client.force_login(user)
pages = [reverse("library"), reverse("separation-new"), reverse("api:separations")]
statuses = [client.get(page).status_code for page in pages]
with open(sys.argv[1], "rb") as fh:
    upload = client.post(reverse("separation-new"), {"files": fh, "mode": "4"})
from demixer.separation.models import Separation
print(json.dumps({
    "statuses": statuses,
    "upload": upload.status_code,
    "jobs": Separation.objects.count(),
    "heavy": [name for name in json.loads(sys.argv[2]) if name in sys.modules],
}))
"""


@pytest.mark.slow  # a fresh interpreter migrates and serves (~2 s)
def test_pages_an_upload_and_a_queued_job_load_no_engine(tmp_path: Path) -> None:
    clip = write_audio(
        tmp_path / "clip.flac", signals.mix(signals.song(1.0, seed=5)), 44100, "flac"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "demixer.config.settings",
        "DEMIXER_DATA_DIR": str(tmp_path / "data"),
        "DEMIXER_QUEUE": "db",
    }
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(clip), json.dumps(HEAVY)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["statuses"] == [200, 200, 200]
    assert report["upload"] == 302 and report["jobs"] == 1  # the job was created and queued
    assert report["heavy"] == []
