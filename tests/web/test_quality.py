"""The quality option: offered on the form, part of the dedup key, shown on the pages and the
API, carried by "separate again", run by the real worker with the fast model, and both
qualities' sessions created and warmed when the worker starts."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from demixer.engine.htdemucs import fast_check
from demixer.engine.htdemucs import model as onnx_model
from demixer.separation.models import Quality, Separation, Status
from demixer.tracks.models import Track
from tests.web.conftest import run_worker, upload

pytestmark = pytest.mark.django_db


def test_the_form_offers_both_qualities_best_by_default(alice_client: Client) -> None:
    response = alice_client.get(reverse("separation-new"))
    page = response.content.decode()
    assert 'name="quality" value="default"' in page and 'name="quality" value="fast"' in page
    assert "Best (default)" in page and "Fast (about 15 % quicker, nearly identical)" in page
    assert response.context["form"]["quality"].value() == "default"


def test_the_form_accepts_fast_and_the_default_when_omitted(alice_client, clips) -> None:
    upload(alice_client, clips["flac"], quality="fast")
    upload(alice_client, clips["wav16"])
    quality = dict(Separation.objects.values_list("track__title", "quality"))
    assert quality == {"song-flac": "fast", "song-wav16": "default"}


def test_an_unknown_quality_is_refused(alice_client, clips) -> None:
    response = upload(alice_client, clips["flac"], quality="turbo")
    assert response.status_code == 200
    assert "quality" in response.context["form"].errors  # only a forged form can send one
    assert "Quality: Select a valid choice" in response.content.decode()  # shown, not swallowed
    assert not Track.objects.exists() and not Separation.objects.exists()


def test_dedup_distinguishes_qualities(alice_client, clips) -> None:
    best = upload(alice_client, clips["flac"])
    fast = upload(alice_client, clips["flac"], quality="fast")
    fast_again = upload(alice_client, clips["flac"], quality="fast")
    assert best.url != fast.url and fast.url == fast_again.url
    assert Track.objects.count() == 1
    assert sorted(Separation.objects.values_list("quality", flat=True)) == ["default", "fast"]


def test_a_finished_result_is_reused_only_for_its_quality(
    alice, alice_client, make_done_separation, engine_stems
) -> None:
    done = make_done_separation(alice)  # best quality
    assert upload(alice_client, engine_stems[0]).url == reverse("separation-detail", args=[done.id])
    fast = upload(alice_client, engine_stems[0], quality="fast")
    job = Separation.objects.exclude(id=done.id).get()
    assert fast.url == reverse("separation-detail", args=[job.id])
    assert job.quality == Quality.FAST and job.status == Status.QUEUED


def test_fast_is_shown_on_the_job_page_the_library_and_the_api(
    alice, alice_client, make_done_separation
) -> None:
    job = make_done_separation(alice)
    Separation.objects.filter(id=job.id).update(quality=Quality.FAST, status=Status.FAILED)
    page = alice_client.get(reverse("separation-detail", args=[job.id])).content.decode()
    assert "4 stems, fast" in page
    assert '<input type="hidden" name="quality" value="fast">' in page  # "separate again"
    assert "4 stems, fast" in alice_client.get(reverse("library")).content.decode()
    assert alice_client.get(reverse("api:separation", args=[job.id])).json()["quality"] == "fast"
    Separation.objects.filter(id=job.id).update(quality=Quality.DEFAULT)
    assert "4 stems, fast" not in alice_client.get(reverse("library")).content.decode()
    assert alice_client.get(reverse("api:separations")).json()["separations"][0]["quality"] == (
        "default"
    )


def test_separate_again_keeps_the_quality(alice, alice_client, make_done_separation) -> None:
    job = make_done_separation(alice)
    Separation.objects.filter(id=job.id).update(quality=Quality.FAST, status=Status.FAILED)
    track = reverse("track-separate", args=[job.track.id])
    response = alice_client.post(track, {"mode": "4", "quality": "fast"})
    retry = Separation.objects.exclude(id=job.id).get()
    assert response.url == reverse("separation-detail", args=[retry.id])
    assert retry.quality == Quality.FAST and retry.status == Status.QUEUED
    alice_client.post(track, {"mode": "4", "quality": "turbo"})  # anything else means best
    assert Separation.objects.filter(quality=Quality.DEFAULT, status=Status.QUEUED).count() == 1


@pytest.mark.model
@pytest.mark.django_db(transaction=True)
def test_a_fast_job_runs_through_the_real_worker(alice_client, make_clip, model, media_dir):
    upload(alice_client, make_clip(4.0, seed=31), quality="fast")
    run_worker()
    job = Separation.objects.get()
    assert job.status == Status.DONE, job.error
    assert job.quality == Quality.FAST
    stems = list(job.stems.all())
    assert [s.name for s in stems] == ["drums", "bass", "other", "vocals"]
    for stem in stems:
        assert (media_dir / stem.master.name).stat().st_size > 1000
        assert len(stem.peaks) == 800
    assert any(c.quality == "fast" for c in onnx_model._models.instances)


@pytest.mark.model
@pytest.mark.django_db(transaction=True)
def test_the_worker_creates_and_warms_both_sessions_before_taking_jobs(
    settings, monkeypatch
) -> None:
    warmed: list[tuple[onnx_model.SessionConfig, int]] = []

    def spy(self: onnx_model.SegmentModel, runs: int = 2) -> None:
        warmed.append((self.config, runs))  # the sessions are real; their runs are not needed

    monkeypatch.setattr(onnx_model.SegmentModel, "warm_up", spy)
    # an empty cache for this process, so only the worker can have made the sessions found
    # in it below (other tests filled the real one with the same configurations)
    monkeypatch.setattr(onnx_model._models, "instances", {})
    call_command("separation_worker", "--batch", "--interval", "0")
    assert sorted((c.quality, runs) for c, runs in warmed) == [("default", 2), ("fast", 2)]
    for config, _ in warmed:
        assert (config.device, config.threads) == (
            settings.SEPARATION_DEVICE,
            settings.SEPARATION_THREADS,
        )
        assert config in onnx_model._models.instances


REFUSED = fast_check.FastCheck(
    usable=False,
    snr_db={"drums": 37.9, "bass": 39.3, "other": 4.2, "vocals": 0.0},
    cpu_class="x86-64 AVX2 without VNNI",
    checked=0.0,
)


@pytest.mark.model
@pytest.mark.django_db(transaction=True)
def test_where_this_cpu_refused_the_fast_mode_jobs_run_in_default_mode_and_say_so(
    alice_client, make_clip, model, monkeypatch
) -> None:
    """The verdict is faked (this CPU's fast mode passes its check); the worker, the engine and
    the database are real."""
    monkeypatch.setattr(fast_check, "cached", lambda *args, **kwargs: REFUSED)
    monkeypatch.setattr(fast_check, "verdict", lambda config, **kwargs: REFUSED)
    page = alice_client.get(reverse("separation-new")).content.decode()
    assert 'name="quality" value="fast"' not in page
    assert "Fast mode is not available on this CPU." in page
    upload(alice_client, make_clip(3.0, seed=32), quality="fast")  # an older page asks for it
    run_worker()
    job = Separation.objects.get()
    assert job.status == Status.DONE, job.error
    assert job.quality == Quality.DEFAULT
    assert job.note == (
        "Separated in the best (default) mode: the fast mode is not available on this "
        "server's CPU (x86-64 AVX2 without VNNI)."
    )
    page = alice_client.get(reverse("separation-detail", args=[job.id])).content.decode()
    assert escape(job.note) in page
    assert alice_client.get(reverse("api:separation", args=[job.id])).json()["quality"] == "default"
