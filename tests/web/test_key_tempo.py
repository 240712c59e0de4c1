"""Key and BPM: the worker estimates them from the decoded mix once per track (the engine is the
stand-in; the analysis is the real one), and the library, the player and the API show them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from django.urls import reverse

from demixer.separation.models import Separation, Status
from demixer.testing.files import write_audio
from demixer.testing.signals import RATE
from demixer.testing.tonal import Key, tonal_song
from demixer.tracks.models import Track
from demixer.tracks.services import record_analysis
from tests.web.conftest import run_worker, upload

pytestmark = pytest.mark.django_db(transaction=True)


def song_file(tmp_path: Path, key: Key, bpm: float) -> Path:
    mix = np.sum(list(tonal_song(20, key, bpm, seed=3).values()), axis=0)
    return write_audio(tmp_path / "song.flac", mix * 0.8, RATE, "flac")


# slow: the worker's whole analysis of a generated song (~2 s)
@pytest.mark.slow
def test_the_worker_records_key_and_tempo_and_the_pages_show_them(
    alice_client, tmp_path: Path
) -> None:
    upload(alice_client, song_file(tmp_path, Key(7, "minor"), 96.0))
    run_worker()
    job = Separation.objects.get()
    assert job.status == Status.DONE
    track = Track.objects.get()
    assert track.key == "G minor"
    assert track.bpm == pytest.approx(96.0, rel=0.04)
    shown = track.musical_text
    assert shown.startswith("G minor · ") and shown.endswith(" BPM")
    assert shown in alice_client.get(reverse("library")).content.decode()
    page = alice_client.get(reverse("separation-detail", args=[job.id])).content.decode()
    assert shown in page
    assert f'data-bpm="{track.bpm}"' in page  # the metronome's tempo, to the tenth recorded
    api = alice_client.get(reverse("api:track", args=[track.id])).json()
    assert (api["key"], api["bpm"]) == ("G minor", track.bpm)


def test_before_the_analysis_nothing_is_shown_and_it_is_recorded_once(
    alice, tmp_path: Path
) -> None:
    track = Track.objects.create(
        owner=alice,
        title="t",
        original="tracks/x/original.wav",
        original_name="t.wav",
        sha256="0" * 64,
        size=1,
        duration=1.0,
        sample_rate=RATE,
        channels=2,
    )
    assert track.musical_text == ""
    assert record_analysis(track.id, 120.0, "") is True
    assert record_analysis(track.id, 60.0, "C major") is False  # a later job changes nothing
    track.refresh_from_db()
    assert (track.bpm, track.key, track.musical_text) == (120.0, "", "120 BPM")


def test_an_uncertain_mode_is_shown_with_both_keys(alice_client, alice) -> None:
    track = Track.objects.create(
        owner=alice,
        title="t",
        original="tracks/x/original.wav",
        original_name="t.wav",
        sha256="0" * 64,
        size=1,
        duration=1.0,
        sample_rate=RATE,
        channels=2,
    )
    assert record_analysis(track.id, 72.0, "G minor", 0.7, "Bb major") is True
    track.refresh_from_db()
    assert track.musical_text == "G minor / Bb major (major/minor uncertain) · 72 BPM"
    api = alice_client.get(reverse("api:track", args=[track.id])).json()
    assert (api["key"], api["key_alternative"], api["key_confidence"]) == (
        "G minor",
        "Bb major",
        0.7,
    )
