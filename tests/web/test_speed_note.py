"""The upload form says how long the chosen model takes here, "about N× the song's length": the
model's measured speed relative to htdemucs times htdemucs' speed on this server, from its recent
finished jobs (whatever their models), else the reference host's figure."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from demixer.engine import registry, speeds
from demixer.separation import speed
from demixer.separation.models import Separation, Status
from tests.web.test_fairness import make_track


def finished(user, title: str, model: str, audio: float, took: float) -> Separation:
    now = timezone.now()
    return Separation.objects.create(
        track=make_track(user, title, duration=audio),
        model_name=model,
        status=Status.DONE,
        started=now - timedelta(seconds=took),
        finished=now,
    )


def notes(page: str) -> dict[str, str]:
    """Each offered choice's note, by its form value."""
    found = re.findall(r'data-took="([^"]*)"><input[^>]+value="([^"]+)"', page)
    return {value: took for took, value in found}


@pytest.mark.parametrize(
    ("times", "text"),
    [
        (0.4, "About 0.4× the song's length here: a 4-minute song takes about 1.5 minutes."),
        (0.1, "About 0.1× the song's length here: a 4-minute song takes about 20 seconds."),
        (2.0, "About 2.0× the song's length here: a 4-minute song takes about 8 minutes."),
        (12.3, "About 12× the song's length here: a 4-minute song takes about 49 minutes."),
    ],
)
def test_the_note_says_the_factor_and_a_song_s_wait(times: float, text: str) -> None:
    assert speed.note(times) == text


@pytest.mark.django_db
def test_before_any_job_the_reference_host_s_speed_is_said(alice_client: Client) -> None:
    assert speed.htdemucs_rtf_here() == speeds.REFERENCE_RTF
    page = alice_client.get(reverse("separation-new")).content.decode()
    said = notes(page)
    assert said["4"] == escape(speed.note(speeds.REFERENCE_RTF))
    assert said["spleeter"] == escape(speed.note(speeds.REFERENCE_RTF * registry.SPLEETER.speed))
    # the chosen (default) model's note is on the page without script too
    shown = re.search(r'<p class="field-note" id="mode-speed"[^>]*>([^<]*)</p>', page)
    assert shown is not None and shown.group(1) == said["4"]


@pytest.mark.django_db
def test_this_server_s_recent_jobs_set_the_speed_whatever_their_model(
    alice, alice_client: Client
) -> None:
    # 20 s for 10 s of htdemucs, 3.4 s for 10 s of Spleeter (0.17x htdemucs' work): 2 s per
    # second of htdemucs-equivalent audio
    finished(alice, "a", "htdemucs", audio=10.0, took=20.0)
    finished(alice, "b", "spleeter", audio=10.0, took=3.4)
    finished(alice, "c", "gone-model", audio=10.0, took=500.0)  # no longer here: not counted
    assert speed.htdemucs_rtf_here() == pytest.approx(2.0)
    said = notes(alice_client.get(reverse("separation-new")).content.decode())
    assert said["4"] == said["2"] == escape(speed.note(2.0))
    assert said["spleeter"] == escape(speed.note(2.0 * registry.SPLEETER.speed))
    assert "About 2.0×" in said["4"] and "about 8 minutes" in said["4"]
