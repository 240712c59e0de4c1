"""Downloads that need encoding (WAV/MP3 stems, their zips, the instrumental, custom mixes) are
rendered by the real worker, never in the request: 202 and a status URL first, then the file
from the cache, decoded here to check it. Real transactions: the render is enqueued on commit
and the worker (batch mode) claims it with its own."""

from __future__ import annotations

import io
import time
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from django.test import Client
from django.urls import reverse

from demixer.exports import conversions, render_jobs, worker
from demixer.jobs import loop as lanes
from demixer.separation import services, tasks
from demixer.separation.models import Render, Status
from tests.web.conftest import body, decode_bytes, media_files, run_worker
from tests.web.test_files import correlation, master

pytestmark = pytest.mark.django_db(transaction=True)

STEMS = ("drums", "bass", "other", "vocals")
WAIT_S = 120  # the longest any test here waits for a worker thread


@pytest.fixture
def done(alice, make_done_separation):
    return make_done_separation(alice, title="My Song")


def rendered(client: Client, response) -> bytes:
    """A download that was not ready: 202 with where to look; the real worker renders it;
    then the file, from the status's download URL."""
    assert response.status_code == 202, response
    data = response.json()
    assert data["status"] == Status.QUEUED and data["percent"] == 0
    assert response["Location"] == data["status_url"]
    run_worker()
    status = client.get(data["status_url"]).json()
    assert status["status"] == Status.DONE and status["percent"] == 100, status
    result = client.get(data["download_url"])
    assert result.status_code == 200
    assert result["Content-Disposition"].startswith("attachment")
    return body(result)


def post_mix(client: Client, job, fmt: str = "wav", **gains: float):
    data = {f"gain_{name}": str(value) for name, value in gains.items()}
    data["format"] = fmt
    return client.post(reverse("separation-mix", args=[job.id]), data)


@pytest.mark.parametrize(("fmt", "subtype"), [("wav", "PCM_24"), ("mp3", None)])
def test_a_conversion_is_rendered_by_the_worker_then_served_from_the_cache(
    alice_client, done, media_dir, tmp_path, fmt, subtype
):
    url = reverse("stem-download", args=[done.id, "vocals", fmt])
    first = alice_client.get(url)
    assert Render.objects.get().status == Status.QUEUED  # for the workers' render lane
    data = rendered(alice_client, first)
    samples, rate = decode_bytes(data, tmp_path, f".{fmt}")
    assert rate == 44100
    # lossless formats carry the master exactly (24-bit); MP3 only approximately
    assert correlation(samples, master(media_dir, done, "vocals")) > (0.999 if subtype else 0.85)
    if subtype:
        assert sf.info(io.BytesIO(data)).subtype == subtype
    assert (media_dir / done.storage_dir() / "cache" / f"vocals.{fmt}").exists()

    again = alice_client.get(url)  # the second identical request: the file, at once
    assert again.status_code == 200
    assert f"My Song (vocals).{fmt}" in again["Content-Disposition"]
    assert body(again) == data
    assert Render.objects.count() == 1


def test_the_player_asks_for_the_status_then_downloads(alice_client, done) -> None:
    """``Accept: application/json``: the status JSON (202, then 200 once done), never the file."""
    url = reverse("stem-download", args=[done.id, "drums", "mp3"])
    asked = alice_client.get(url, headers={"Accept": "application/json"})
    assert asked.status_code == 202 and asked["Content-Type"] == "application/json"
    run_worker()
    ready = alice_client.get(url, headers={"Accept": "application/json"})
    assert ready.status_code == 200 and ready.json()["status"] == Status.DONE
    file = alice_client.get(ready.json()["download_url"])
    assert file["Content-Type"] == "audio/mpeg" and len(body(file)) > 10_000
    assert Render.objects.count() == 1


def test_a_browser_without_script_gets_a_page_that_refreshes(alice_client, done) -> None:
    headers = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    response = alice_client.get(
        reverse("separation-instrumental", args=[done.id, "mp3"]), headers=headers
    )
    assert response.status_code == 202
    page = response.content.decode()
    download_url = reverse("render-file", args=[Render.objects.get().id])
    assert f'http-equiv="refresh" content="2;url={download_url}"' in page
    assert "Preparing the file" in page and "My Song (instrumental).mp3" in page
    run_worker()
    assert alice_client.get(download_url, headers=headers)["Content-Type"] == "audio/mpeg"


@pytest.mark.parametrize("fmt", ["wav", "mp3"])
def test_a_zip_of_conversions_is_rendered_then_streamed(
    alice_client, done, media_dir, tmp_path, fmt
):
    url = reverse("separation-zip", args=[done.id]) + f"?format={fmt}"
    archive = zipfile.ZipFile(io.BytesIO(rendered(alice_client, alice_client.get(url))))
    names = sorted(archive.namelist())
    assert names == sorted(f"My Song ({s}).{fmt}" for s in STEMS)
    for name in names:
        samples, rate = decode_bytes(archive.read(name), tmp_path, f".{fmt}")
        assert rate == 44100 and samples.shape[0] == 2
        assert samples.shape[-1] == pytest.approx(6.0 * 44100, abs=0.06 * 44100)
    # the zip's members are the stems' own conversions: each is ready at once now
    single = alice_client.get(reverse("stem-download", args=[done.id, "bass", fmt]))
    assert single.status_code == 200
    assert body(single) == archive.read(f"My Song (bass).{fmt}")
    assert alice_client.get(url).status_code == 200
    assert Render.objects.filter(attempts__gt=0).count() == 1  # only the zip's was rendered
    cached = sorted(p.name for p in (media_dir / done.storage_dir() / "cache").iterdir())
    assert cached == sorted(f"{s}.{fmt}" for s in STEMS)  # no zip stored beside them


def test_the_instrumental_is_everything_but_the_vocals(alice_client, done, media_dir, tmp_path):
    url = reverse("separation-instrumental", args=[done.id, "wav"])
    samples, _ = decode_bytes(rendered(alice_client, alice_client.get(url)), tmp_path, ".wav")
    expected = sum(master(media_dir, done, n) for n in ("drums", "bass", "other"))
    assert correlation(samples, expected) > 0.999
    assert correlation(samples, master(media_dir, done, "vocals")) < 0.5


def test_a_mix_honours_the_gains_and_is_cached_per_setting(alice_client, done, media_dir, tmp_path):
    stems = {n: master(media_dir, done, n) for n in STEMS}
    data = rendered(alice_client, post_mix(alice_client, done, drums=0, bass=0, other=0, vocals=1))
    only_vocals, _ = decode_bytes(data, tmp_path, ".wav")
    np.testing.assert_allclose(only_vocals, stems["vocals"], atol=1e-4)

    data = rendered(
        alice_client, post_mix(alice_client, done, drums=0.5, bass=2, other=0, vocals=0)
    )
    mixed, _ = decode_bytes(data, tmp_path, ".wav")
    expected = 0.5 * stems["drums"] + 2 * stems["bass"]
    peak = float(np.abs(expected).max())
    expected = expected / max(1.01 * peak, 1.0)  # rescaled only if it would clip
    np.testing.assert_allclose(mixed, expected, atol=1e-4)

    # the same setting again: the file itself, straight away
    again = post_mix(alice_client, done, drums=0.5, bass=2, other=0, vocals=0)
    assert again.status_code == 200 and body(again) == data
    assert Render.objects.count() == 2


def test_a_mix_in_mp3_and_flac(alice_client, done, tmp_path) -> None:
    for fmt in ("mp3", "flac"):
        response = post_mix(alice_client, done, fmt, drums=1, bass=1, other=1, vocals=0)
        samples, rate = decode_bytes(rendered(alice_client, response), tmp_path, f".{fmt}")
        assert rate == 44100 and samples.shape[0] == 2


def test_only_the_newest_mixes_are_kept(alice_client, done, media_dir) -> None:
    for i in range(render_jobs.KEPT_MIXES + 2):
        assert post_mix(alice_client, done, "mp3", vocals=round(0.1 * i, 1)).status_code == 202
    run_worker()
    kept = Render.objects.filter(kind="mix")
    assert kept.count() == render_jobs.KEPT_MIXES
    cache = media_dir / done.storage_dir() / "cache"
    assert sorted(p.name for p in cache.iterdir()) == sorted(r.key for r in kept)


def test_another_user_gets_404_for_the_render_and_its_file(alice_client, bob_client, done) -> None:
    response = alice_client.get(reverse("stem-download", args=[done.id, "vocals", "mp3"]))
    data = response.json()
    assert bob_client.get(data["status_url"]).status_code == 404
    assert bob_client.get(data["download_url"]).status_code == 404
    run_worker()
    assert bob_client.get(data["status_url"]).status_code == 404
    assert bob_client.get(data["download_url"]).status_code == 404
    bobs = bob_client.get(reverse("stem-download", args=[done.id, "vocals", "mp3"]))
    assert bobs.status_code == 404
    assert alice_client.get(data["download_url"]).status_code == 200


def test_deleting_the_track_takes_its_renders_and_their_files(alice_client, done, media_dir):
    rendered(
        alice_client, alice_client.get(reverse("stem-download", args=[done.id, "bass", "wav"]))
    )
    assert Render.objects.count() == 1
    services.delete_track(done.track)
    assert Render.objects.count() == 0
    assert media_files(media_dir) == []


def test_a_render_of_a_deleted_separation_leaves_no_file(alice_client, done, media_dir):
    """Deleted while it was rendering: the file it finishes must not bring the folder back."""
    alice_client.get(reverse("stem-download", args=[done.id, "drums", "wav"]))
    item = Render.objects.get()
    real_convert = conversions.convert

    def convert_then_delete(*args, **kwargs):
        result = real_convert(*args, **kwargs)
        services.delete_track(done.track)
        return result

    worker.conversions.convert = convert_then_delete
    try:
        assert worker.render_one(str(item.id)) == "dropped (deleted meanwhile)"
    finally:
        worker.conversions.convert = real_convert
    assert media_files(media_dir) == []


def test_a_failed_render_says_so_in_one_sentence_and_can_be_retried(
    alice_client, done, media_dir
) -> None:
    (media_dir / done.stems.get(name="other").master.name).write_bytes(b"not a flac file")
    url = reverse("stem-download", args=[done.id, "other", "mp3"])
    data = alice_client.get(url).json()
    run_worker()
    status = alice_client.get(data["status_url"]).json()
    assert status["status"] == Status.FAILED
    assert status["error"] == worker.FAILED
    failed = alice_client.get(data["download_url"])
    assert failed.status_code == 500 and failed.json()["error"] == worker.FAILED
    assert "Traceback" not in failed.content.decode()
    retried = alice_client.get(url)  # asking again is a retry
    assert retried.status_code == 202 and retried.json()["status"] == Status.QUEUED


def test_a_render_whose_worker_died_is_queued_again(alice_client, done, settings) -> None:
    data = alice_client.get(reverse("stem-download", args=[done.id, "vocals", "wav"])).json()
    item = Render.objects.get()
    assert render_jobs.JOBS.claim(item.id, "dead-host:1:abcd")  # then it died
    assert alice_client.get(data["status_url"]).json()["status"] == Status.RUNNING
    settings.SEPARATION_STALE_SECONDS = 0
    assert alice_client.get(data["status_url"]).json()["status"] == Status.QUEUED
    run_worker()
    assert alice_client.get(data["download_url"]).status_code == 200


def test_a_stopping_worker_puts_the_render_back(alice_client, done) -> None:
    alice_client.get(reverse("stem-download", args=[done.id, "vocals", "mp3"]))
    item = Render.objects.get()
    tasks.shutdown_requested.set()
    try:
        assert worker.render_one(str(item.id)) == "requeued (worker stopping)"
    finally:
        tasks.shutdown_requested.clear()
    item.refresh_from_db()
    assert item.status == Status.QUEUED and item.attempts == 0
    assert render_jobs.JOBS.queued().get() == item  # the next render the lane takes


def test_the_worker_thread_renders_beside_separations(alice_client, done, media_dir) -> None:
    """The render thread of a running worker (not batch mode) takes renders as they come."""
    data = alice_client.get(reverse("stem-download", args=[done.id, "vocals", "mp3"])).json()
    cached = media_dir / done.storage_dir() / "cache" / "vocals.mp3"
    # the test database is an in-memory SQLite shared between threads, which locks whole
    # tables: watch the file, not the row, while the thread works
    with lanes.lanes_running() as threads:
        assert sorted(t.name for t in threads) == ["render-lane", "webhook-lane", "webhook-lane-1"]
        deadline = time.monotonic() + WAIT_S
        while not cached.exists() and threads[0].is_alive() and time.monotonic() < deadline:
            time.sleep(0.2)
    assert not any(thread.is_alive() for thread in threads)
    assert alice_client.get(data["status_url"]).json()["status"] == Status.DONE
    assert alice_client.get(data["download_url"]).status_code == 200


def _noise_masters(folder: Path, seconds: int) -> dict[str, Path]:
    rng = np.random.default_rng(seconds)
    masters = {}
    for name in STEMS:
        masters[name] = folder / f"{name}-{seconds}.flac"
        with sf.SoundFile(masters[name], "w", 44100, 2, "PCM_24") as fh:
            for _ in range(seconds // 10):
                fh.write((0.2 * rng.standard_normal((441_000, 2))).astype(np.float32))
    return masters


def _traced_peak_mb(masters: dict[str, Path], target: Path) -> float:
    tracemalloc.start()
    try:
        conversions.mix(masters, dict.fromkeys(masters, 1.0), target, "wav")
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


# slow: minutes of audio mixed and measured (~2 s)
@pytest.mark.slow
def test_a_mix_holds_blocks_not_the_track(tmp_path) -> None:
    """Memory of a mix does not grow with the track: it is summed and encoded block by block
    (the whole sum of a 20-minute mix would be 420 MB)."""
    short = _traced_peak_mb(_noise_masters(tmp_path, 20), tmp_path / "short.wav")
    long = _traced_peak_mb(_noise_masters(tmp_path, 80), tmp_path / "long.wav")
    assert long < short + 4, (short, long)  # the whole 80 s sum alone would be 27 MB
