"""A full disk: uploads refused with 507 and nothing left behind, a job stopped and failed at
once with the real reason when a write finds the disk full (its partial files removed), a job
refused before it runs when its files would not fit, /readyz cleaning up after itself, and the
operator's gauge and warning.

The media folder is a real tmpfs of a few MB (mounted for the test; root only, else skipped),
so the writes fail with the kernel's own ENOSPC.
"""

from __future__ import annotations

import logging
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.test import Client
from django.urls import reverse

from demixer.api import tokens
from demixer.ops import disk
from demixer.separation import budget, pieces
from demixer.separation.models import Separation, Status
from demixer.tracks.models import Track
from tests.web.conftest import media_files, run_worker, upload

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def tiny_disk(media_dir: Path, settings) -> Iterator[Callable[[int], None]]:
    """``tiny_disk(kb)`` mounts a tmpfs of that size on the test's media folder."""
    settings.MIN_FREE_MB = 0  # the sizes below are the whole disk
    mounted: list[Path] = []

    def mount(kb: int) -> None:
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={kb}k", "tmpfs", str(media_dir)],
            capture_output=True,
            check=False,
        )
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
        mounted.append(media_dir)

    yield mount
    for path in mounted:
        subprocess.run(["umount", "-l", str(path)], check=False)


def fill(folder: Path) -> Path:
    """Write a file that takes every free byte left on ``folder``'s file system."""
    filler = folder / "filler.bin"
    with filler.open("wb") as fh:
        try:
            while True:
                fh.write(b"\0" * 65536)
                fh.flush()
        except OSError:
            pass
    return filler


def left_behind(media_dir: Path) -> list[Path]:
    return [p for p in media_files(media_dir) if p.name != "filler.bin"]


def test_an_upload_too_large_for_the_disk_is_a_507_and_leaves_nothing(
    alice_client: Client, clips, media_dir: Path, tiny_disk
) -> None:
    tiny_disk(256)  # the 3 s WAV is 530 kB
    response = upload(alice_client, clips["wav16"])
    assert response.status_code == 507
    assert "storage is full" in response.content.decode()
    assert Track.objects.count() == 0 and Separation.objects.count() == 0
    assert left_behind(media_dir) == []

    # the page's script asks for JSON: the same refusal, as lines to show
    with clips["wav16"].open("rb") as fh:
        scripted = alice_client.post(
            reverse("separation-new"),
            {"files": fh, "mode": "4"},
            headers={"accept": "application/json"},
        )
    assert scripted.status_code == 507, scripted.content.decode()[:3000]
    assert "storage is full" in scripted.json()["errors"][0]
    assert left_behind(media_dir) == []


def test_an_upload_whose_write_fails_on_a_full_disk_leaves_no_orphan(
    alice_client: Client, clips, media_dir: Path, tiny_disk, monkeypatch
) -> None:
    """Past the guard (another process filled the disk after it looked): the original's write
    itself fails with ENOSPC; the half-written file and its folder go, the answer is a 507."""
    tiny_disk(256)
    monkeypatch.setattr(disk, "check_room", lambda needs: None)
    response = upload(alice_client, clips["wav16"])
    assert response.status_code == 507
    assert Track.objects.count() == 0
    assert left_behind(media_dir) == []
    assert list(media_dir.glob("tracks/*/*")) == []  # nor the track's folder


def test_the_api_answers_507_storage_full_and_leaves_nothing(
    alice, clips, media_dir: Path, tiny_disk, monkeypatch
) -> None:
    alice_api = Client(HTTP_AUTHORIZATION=f"Bearer {tokens.create(alice, 'tests')[1]}")
    tiny_disk(256)
    with clips["wav16"].open("rb") as fh:
        response = alice_api.post(reverse("api:upload"), {"file": fh})
    assert response.status_code == 507
    assert response.json()["code"] == "storage_full"
    assert "storage is full" in response.json()["message"]
    assert left_behind(media_dir) == []

    monkeypatch.setattr(disk, "check_room", lambda needs: None)  # the write itself fails
    with clips["wav16"].open("rb") as fh:
        response = alice_api.post(reverse("api:upload"), {"file": fh})
    assert response.status_code == 507 and response.json()["code"] == "storage_full"
    assert left_behind(media_dir) == [] and Track.objects.count() == 0


def test_a_job_whose_live_pieces_fill_the_disk_fails_at_once_with_the_reason(
    alice_client: Client, make_clip, media_dir: Path, tiny_disk, monkeypatch
) -> None:
    """The disk fills while the job runs (after the guard let it start): the next live piece's
    write fails with ENOSPC; the job stops, is failed with "storage full" (not left running to
    be retried and failed minutes later), and its pieces and stems are gone."""
    clip = make_clip(12.0, seed=41)
    seconds_needed = budget.separation_needs("htdemucs", "", 12.0, 0, stored=True)["storage"]
    tiny_disk((seconds_needed + 2 * clip.stat().st_size) // 1024 + 1024)
    assert upload(alice_client, clip).status_code == 302
    job = Separation.objects.get()
    real_write = pieces.Publisher._write
    writes: list[int] = []

    def write_then_fill(publisher: pieces.Publisher, piece) -> None:
        real_write(publisher, piece)
        writes.append(len(publisher.ends))
        if len(writes) == 1:
            fill(media_dir)  # another process takes the rest of the disk

    monkeypatch.setattr(pieces.Publisher, "_write", write_then_fill)
    run_worker()
    job.refresh_from_db()
    assert job.status == Status.FAILED
    assert "storage is full" in job.error
    assert writes == [1]  # the second piece's write failed
    assert media_files(media_dir / "separations") == []  # no piece, no stem left
    assert Track.objects.count() == 1  # the original stays


def test_a_job_that_would_not_fit_is_failed_before_it_runs(
    alice_client: Client, make_clip, media_dir: Path, tiny_disk
) -> None:
    clip = make_clip(3.0, seed=42)
    tiny_disk(64 * 1024)
    assert upload(alice_client, clip).status_code == 302
    job = Separation.objects.get()
    filler = fill(media_dir)
    run_worker()
    job.refresh_from_db()
    assert job.status == Status.FAILED and "storage is full" in job.error
    assert job.attempts == 0 and job.started is None  # never claimed
    filler.unlink()
    assert left_behind(media_dir) == [Path(default_storage.path(job.track.original.name))]


def test_readyz_leaves_no_probe_files_even_on_a_full_disk(
    client: Client, media_dir: Path, tiny_disk
) -> None:
    tiny_disk(64)
    assert client.get("/readyz").status_code == 200
    assert left_behind(media_dir) == [] and not (media_dir / "probes").exists()
    fill(media_dir)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["storage"]["ok"] is False
    assert left_behind(media_dir) == [] and not (media_dir / "probes").exists()


def test_the_free_space_gauge_and_the_warning(
    client: Client, settings, media_dir: Path, caplog: pytest.LogCaptureFixture, monkeypatch
) -> None:
    settings.METRICS_TOKEN = "scrape"
    settings.MIN_FREE_MB = 10**9  # everything is under it
    monkeypatch.setattr(disk, "_warned", {"at": 0.0, "low": False})  # no earlier warning
    with caplog.at_level(logging.WARNING, logger="demixer.ops.disk"):
        body = client.get("/metrics", headers={"authorization": "Bearer scrape"}).content
    values = {
        line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
        for line in body.decode().splitlines()
        if line.startswith("demixer_disk_")
    }
    free = disk.free_bytes(media_dir)
    assert abs(values['demixer_disk_free_bytes{folder="storage"}'] - free) < 64 * 1024 * 1024
    assert 'demixer_disk_free_bytes{folder="temp"}' in values
    assert values["demixer_disk_min_free_bytes"] == 10**9 * 1024 * 1024
    assert any("disk space low" in r.getMessage() for r in caplog.records)
