"""The model a job names is the model that runs: the form's choice, the dedup key, the real worker
with Spleeter, the stems and their labels, the instrumental, the pages' labels and licence note,
the API's JSON; a model that is not installed is refused when the job is asked for."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from demixer.engine import model_files, registry
from demixer.separation import services
from demixer.separation.models import Separation, Status
from demixer.tracks.models import Track
from tests.web.conftest import decode_bytes, run_worker, upload
from tests.web.test_downloads import rendered
from tests.web.test_files import correlation, master

SPLEETER_NOTE = registry.SPLEETER.licence


@pytest.fixture
def only_htdemucs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A models folder holding htdemucs' verified weights (links to the real ones), not
    Spleeter's: this server has not fetched it."""
    folder = tmp_path / "models"
    folder.mkdir()
    real = registry.models_dir()
    for name in ("htdemucs.onnx", "htdemucs.onnx.sha256"):
        (folder / name).symlink_to(real / name)
    monkeypatch.setattr(model_files, "_configured_dir", folder)
    assert registry.is_installed("htdemucs") and not registry.is_installed("spleeter")
    return folder


@pytest.mark.django_db
def test_the_form_offers_the_quick_spleeter_choice(alice_client: Client) -> None:
    page = alice_client.get(reverse("separation-new")).content.decode()
    assert 'name="mode" value="spleeter"' in page
    assert escape("Quick: vocals / accompaniment (Spleeter, about 6x faster)") in page
    # the browser tests pick these by label: the quick choice must not match them
    assert page.count("4 stems") == 1 and page.count("2 stems") == 1


@pytest.mark.model
@pytest.mark.django_db(transaction=True)
def test_a_spleeter_upload_runs_spleeter_in_the_real_worker(
    alice_client: Client, make_clip, media_dir: Path, tmp_path: Path
) -> None:
    response = upload(alice_client, make_clip(5.0, seed=41), mode="spleeter")
    job = Separation.objects.get()
    assert response.url == reverse("separation-detail", args=[job.id])
    assert (job.model_name, job.two_stems, job.quality) == ("spleeter", "", "default")
    assert "Spleeter, 2 stems" in alice_client.get(response.url).content.decode()

    run_worker()
    job.refresh_from_db()
    assert job.status == Status.DONE, job.error
    stems = list(job.stems.all())
    assert [(s.name, s.label) for s in stems] == [
        ("vocals", "Vocals"),
        ("accompaniment", "Accompaniment"),
    ]
    page = alice_client.get(response.url)
    html = page.content.decode()
    assert [s["name"] for s in page.context["stems"]] == ["vocals", "accompaniment"]
    assert html.count('class="stem"') == 2 and "with Spleeter" in html
    assert escape(SPLEETER_NOTE) in html and escape(registry.LICENSE_NOTE) not in html
    library = alice_client.get(reverse("library")).content.decode()
    assert "Spleeter, 2 stems<" in library  # one quality: no ", best"

    api = alice_client.get(reverse("api:separation", args=[job.id])).json()
    assert api["model"] == "spleeter"

    # the instrumental of a Spleeter job is its accompaniment stem (the page offers only that
    # stem's row; the instrumental's own URL, which the API names, still answers)
    assert page.context["instrumental_url"] is None
    url = reverse("separation-instrumental", args=[job.id, "wav"])
    samples, _ = decode_bytes(rendered(alice_client, alice_client.get(url)), tmp_path, ".wav")
    assert correlation(samples, master(media_dir, job, "accompaniment")) > 0.999


@pytest.mark.django_db
def test_dedup_covers_the_model(alice_client: Client, clips) -> None:
    four = upload(alice_client, clips["flac"], mode="4")
    quick = upload(alice_client, clips["flac"], mode="spleeter")
    quick_again = upload(alice_client, clips["flac"], mode="spleeter")
    assert four.url != quick.url and quick.url == quick_again.url
    assert Track.objects.count() == 1
    assert sorted(Separation.objects.values_list("model_name", flat=True)) == [
        "htdemucs",
        "spleeter",
    ]


@pytest.mark.django_db
def test_dedup_covers_overlap_and_shifts(alice, clips, alice_client: Client) -> None:
    upload(alice_client, clips["flac"], mode="4")
    track = Track.objects.get()
    same, reused = services.start(track)
    assert reused
    other, reused = services.start(track, overlap=0.5)
    assert not reused and other.id != same.id and other.overlap == 0.5
    shifted, reused = services.start(track, shifts=2)
    assert not reused and shifted.shifts == 2
    assert services.start(track, shifts=2) == (shifted, True)


@pytest.mark.django_db
def test_separate_again_with_spleeter_from_the_library(alice_client: Client, clips) -> None:
    upload(alice_client, clips["flac"], mode="4")
    track = Track.objects.get()
    library = alice_client.get(reverse("library")).content.decode()
    assert '<option value="spleeter"' in library
    # fast is htdemucs' only: asked with Spleeter from the library's select, the job is best
    alice_client.post(
        reverse("track-separate", args=[track.id]), {"mode": "spleeter", "quality": "fast"}
    )
    job = Separation.objects.get(model_name="spleeter")
    assert (job.two_stems, job.quality) == ("", "default")


@pytest.mark.django_db
def test_the_fast_quality_is_refused_for_spleeter(alice_client: Client, clips) -> None:
    response = upload(alice_client, clips["flac"], mode="spleeter", quality="fast")
    assert response.status_code == 200
    assert "Spleeter has one quality" in response.content.decode()
    assert not Separation.objects.exists() and not Track.objects.exists()


@pytest.mark.django_db
def test_a_model_that_is_not_installed_is_neither_offered_nor_accepted(
    alice_client: Client, clips, only_htdemucs: Path
) -> None:
    page = alice_client.get(reverse("separation-new")).content.decode()
    assert 'value="spleeter"' not in page and 'value="4"' in page
    response = upload(alice_client, clips["flac"], mode="spleeter")
    assert response.status_code == 200
    assert "Spleeter is not installed on this server" in response.content.decode()
    assert not Track.objects.exists() and not Separation.objects.exists()  # nothing stored


@pytest.mark.django_db
def test_services_refuse_unknown_and_uninstalled_models(
    alice_client: Client, clips, only_htdemucs: Path
) -> None:
    upload(alice_client, clips["flac"], mode="4")
    track = Track.objects.get()
    with pytest.raises(services.ModelUnavailable, match="not installed on this server"):
        services.start(track, model="spleeter")
    with pytest.raises(services.ModelUnavailable, match="Unknown model “nope”"):
        services.start(track, model="nope")
    assert list(Separation.objects.values_list("model_name", flat=True)) == ["htdemucs"]


@pytest.mark.django_db
def test_services_refuse_options_the_model_does_not_take(alice_client: Client, clips) -> None:
    upload(alice_client, clips["flac"], mode="4")
    track = Track.objects.get()
    with pytest.raises(services.ModelUnavailable, match="Spleeter: spleeter has no fast quality"):
        services.start(track, quality="fast", model="spleeter")
    with pytest.raises(services.ModelUnavailable, match="apply to htdemucs only"):
        services.start(track, model="spleeter", shifts=1)
    assert list(Separation.objects.values_list("model_name", flat=True)) == ["htdemucs"]


@pytest.mark.django_db
def test_separate_again_from_a_failed_spleeter_job_asks_for_spleeter(
    alice_client: Client, clips
) -> None:
    upload(alice_client, clips["flac"], mode="spleeter")
    job = Separation.objects.get()
    Separation.objects.filter(id=job.id).update(status=Status.FAILED, error="Disk full.")
    page = alice_client.get(reverse("separation-detail", args=[job.id])).content.decode()
    assert '<input type="hidden" name="mode" value="spleeter">' in page
    assert "Spleeter, 2 stems" in page
