"""The library with many tracks: titles a person can tell apart, search, sort, filters, the
limits' usage, and "separate again" saying when a choice it cannot run was changed."""

from __future__ import annotations

import re
import shutil
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from demixer.engine.registry import SPLEETER
from demixer.separation.models import Separation, Status
from demixer.tracks.models import Track
from demixer.tracks.services import title_from_name
from tests.web.conftest import upload

pytestmark = pytest.mark.django_db


def titles(page: str) -> list[str]:
    """The track titles in the order the library lists them."""
    return [
        re.sub(r"<[^>]+>", "", t).strip()
        for t in re.findall(r'<h2 class="track-title">(.*?)</h2>', page, re.S)
    ]


def library(client: Client, **params: str) -> str:
    return client.get(reverse("library"), params).content.decode()


@pytest.fixture
def shelf(alice, make_done_separation) -> dict[str, Track]:
    """Three of Alice's tracks: different titles, ages, lengths, models and outcomes."""
    jobs = {
        name: make_done_separation(alice, title=name) for name in ("Blue Hour", "Amber", "Cold")
    }
    tracks = {name: job.track for name, job in jobs.items()}
    now = timezone.now()
    for days, (name, seconds) in enumerate([("Blue Hour", 200.0), ("Amber", 30.0), ("Cold", 90.0)]):
        Track.objects.filter(id=tracks[name].id).update(
            created=now - timedelta(days=days), duration=seconds
        )
    Track.objects.filter(id=tracks["Cold"].id).update(artist="Frost Band")
    Separation.objects.filter(id=jobs["Amber"].id).update(status=Status.FAILED)
    Separation.objects.filter(id=jobs["Cold"].id).update(model_name=SPLEETER.name)
    return tracks


@pytest.mark.parametrize(
    ("name", "title"),
    [
        ("mixture.wav", "mixture"),
        ("01_my_song (final).flac", "my song (final)"),
        ("03 - Night Drive.mp3", "Night Drive"),
        ("7. Intro.mp3", "Intro"),
        ("99 Luftballons.mp3", "99 Luftballons"),
        ("My%20Song.ogg", "My Song"),
        ("___.wav", "untitled"),
    ],
)
def test_titles_from_file_names_are_cleaned_up(name: str, title: str) -> None:
    assert title_from_name(name) == title


def test_three_uploads_named_mixture_get_titles_apart(alice, alice_client, make_clip) -> None:
    folders = [make_clip(3.0, seed) for seed in (31, 32, 33)]
    for i, clip in enumerate(folders):
        named = clip.parent / f"copy{i}" / "mixture.wav"
        named.parent.mkdir(exist_ok=True)
        shutil.copy(clip, named)
        upload(alice_client, named)
    assert sorted(Track.objects.values_list("title", flat=True)) == [
        "mixture",
        "mixture (2)",
        "mixture (3)",
    ]


def test_search_finds_title_artist_and_file_name(alice_client, shelf) -> None:
    assert titles(library(alice_client, q="blue")) == ["Blue Hour"]
    assert titles(library(alice_client, q="frost")) == ["Frost Band – Cold"]
    assert titles(library(alice_client, q="song.flac")) == [
        "Blue Hour",
        "Amber",
        "Frost Band – Cold",
    ]
    page = library(alice_client, q="nothing like it")
    assert titles(page) == [] and "No tracks match" in page


def test_every_search_word_must_match(alice_client, shelf) -> None:
    assert titles(library(alice_client, q="cold frost")) == ["Frost Band – Cold"]
    assert titles(library(alice_client, q="cold blue")) == []


@pytest.mark.parametrize(
    ("sort", "order"),
    [
        ("new", ["Blue Hour", "Amber", "Frost Band – Cold"]),
        ("old", ["Frost Band – Cold", "Amber", "Blue Hour"]),
        ("title", ["Amber", "Blue Hour", "Frost Band – Cold"]),
        ("short", ["Amber", "Frost Band – Cold", "Blue Hour"]),
        ("long", ["Blue Hour", "Frost Band – Cold", "Amber"]),
        ("nonsense", ["Blue Hour", "Amber", "Frost Band – Cold"]),  # an unknown sort: the default
    ],
)
def test_sort(alice_client, shelf, sort: str, order: list[str]) -> None:
    assert titles(library(alice_client, sort=sort)) == order


def test_filter_by_status_and_model(alice_client, shelf) -> None:
    assert titles(library(alice_client, status="failed")) == ["Amber"]
    assert titles(library(alice_client, model=SPLEETER.name)) == ["Frost Band – Cold"]
    # one job must match both: Cold's only job is Spleeter's and done
    assert titles(library(alice_client, model=SPLEETER.name, status="done")) == [
        "Frost Band – Cold"
    ]
    assert titles(library(alice_client, model=SPLEETER.name, status="failed")) == []
    page = library(alice_client, status="failed")
    assert "1 of 3 tracks" in page
    assert ">Spleeter</option>" in page  # only models the jobs used are offered


def test_another_users_tracks_never_match(alice_client, bob, make_done_separation, shelf) -> None:
    make_done_separation(bob, title="Blue Moon")
    assert titles(library(alice_client, q="blue")) == ["Blue Hour"]


def test_library_shows_storage_and_minutes_used(alice, alice_client, shelf, settings) -> None:
    settings.STORAGE_MB_PER_USER = 100
    settings.MINUTES_PER_DAY = 60
    page = library(alice_client)
    usage = re.search(r'<p class="usage" id="library-usage">(.*?)</p>', page, re.S).group(1)
    assert re.search(r"[\d.]+\s(KB|MB) of 100\.0\xa0MB stored", usage), usage
    # Blue Hour (200 s) and Cold (90 s) are done today; Amber failed and does not count
    assert "4.8 min of 60 min separated in the last 24 hours" in usage
    settings.STORAGE_MB_PER_USER = 0
    assert " stored" in library(alice_client) and "of 100" not in library(alice_client)


def test_separate_again_says_when_spleeter_cannot_be_fast(alice, alice_client, shelf) -> None:
    track = shelf["Amber"]
    response = alice_client.post(
        reverse("track-separate", args=[track.id]),
        {"mode": "spleeter", "quality": "fast"},
        follow=True,
    )
    page = response.content.decode()
    assert "Spleeter has one quality: separated at Best, not Fast." in page
    job = Separation.objects.filter(track=track, model_name=SPLEETER.name).get()
    assert job.quality == "default"


def test_library_offers_each_models_qualities(alice_client, shelf) -> None:
    page = library(alice_client)
    assert 'value="spleeter" data-qualities="default"' in page
    assert 'value="4" data-qualities="default fast"' in page


def test_upload_page_tells_each_modes_qualities(alice_client) -> None:
    page = alice_client.get(reverse("separation-new")).content.decode()
    assert re.search(r'data-qualities="default"[^>]*><input[^>]+value="spleeter"', page)
    assert re.search(r'data-qualities="default fast"[^>]*><input[^>]+value="4"', page)
