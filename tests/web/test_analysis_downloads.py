"""A stem's MIDI and the chords, downloads made by the real worker on the render lane: Basic
Pitch's notes as a ``.mid`` at the track's tempo, the harmonic stems' chords as ``.lab`` text and
as JSON for the player; another user's separation is a 404."""

from __future__ import annotations

import io

import mido
import pytest
from django.urls import reverse

from demixer.engine.analysis import chords
from demixer.exports import worker
from demixer.separation.models import Render, RenderKind, Status
from tests.web.conftest import body, run_worker

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def done(alice, make_done_separation):
    job = make_done_separation(alice, title="My Song")
    job.track.bpm = 96.0
    job.track.save(update_fields=["bpm"])
    return job


def made(client, url: str) -> bytes:
    """202 and the render's status first; the worker's batch run makes it; then the file."""
    first = client.get(url)
    assert first.status_code == 202, first
    assert first.json()["status"] == Status.QUEUED
    run_worker()
    status = client.get(first.json()["status_url"]).json()
    assert status["status"] == Status.DONE, status
    again = client.get(url)
    assert again.status_code == 200 and again["Content-Disposition"].startswith("attachment")
    return body(again)


def test_a_stems_midi_is_a_midi_file_with_notes_at_the_tracks_tempo(alice_client, done) -> None:
    url = reverse("stem-midi", args=[done.id, "other"])
    data = made(alice_client, url)
    song = mido.MidiFile(file=io.BytesIO(data))
    messages = [m for track in song.tracks for m in track]
    notes = [m for m in messages if m.type == "note_on" and m.velocity > 0]
    assert len(notes) >= 3 and all(21 <= m.note <= 108 for m in notes)
    tempos = [m.tempo for m in messages if m.type == "set_tempo"]
    assert tempos == [mido.bpm2tempo(96.0)]
    response = alice_client.get(url)
    assert response["Content-Type"] == "audio/midi"
    assert "My Song (other).mid" in response["Content-Disposition"]
    item = Render.objects.get()
    assert (item.kind, item.fmt, item.key) == (RenderKind.MIDI, "mid", "other.mid")


def test_the_chords_are_a_lab_file_and_json_for_the_player(alice_client, done) -> None:
    lab = made(alice_client, reverse("separation-chords", args=[done.id])).decode()
    found = chords.from_lab(lab)
    assert found and found[0].start == 0.0
    assert found[-1].end == pytest.approx(done.track.duration, abs=0.1)
    assert all(label in chords.labels() for label in {c.label for c in found})
    response = alice_client.get(reverse("separation-chords-json", args=[done.id]))
    assert response.status_code == 200
    assert response.json() == {
        "chords": [{"start": c.start, "end": c.end, "label": c.label} for c in found]
    }
    assert Render.objects.get().kind == RenderKind.CHORDS  # one render serves both


def test_the_chords_json_waits_for_the_worker(alice_client, done) -> None:
    waiting = alice_client.get(reverse("separation-chords-json", args=[done.id]))
    assert waiting.status_code == 202 and waiting.json()["status"] == Status.QUEUED


def test_the_chords_are_computed_on_the_harmonic_stems(done) -> None:
    assert worker.analysed_stems(RenderKind.CHORDS, ["drums", "bass", "other", "vocals"]) == [
        "bass",
        "other",
    ]
    # a two-stem separation: the accompaniment (with its drums) rather than nothing
    assert worker.analysed_stems(RenderKind.CHORDS, ["drums", "vocals"]) == ["drums", "vocals"]


def test_another_users_separation_is_a_404(bob_client, done) -> None:
    for url in (
        reverse("stem-midi", args=[done.id, "other"]),
        reverse("separation-chords", args=[done.id]),
        reverse("separation-chords-json", args=[done.id]),
    ):
        assert bob_client.get(url).status_code == 404
    assert not Render.objects.exists()


def test_a_stem_that_is_not_there_is_a_404(alice_client, done) -> None:
    assert alice_client.get(reverse("stem-midi", args=[done.id, "piano"])).status_code == 404


def test_the_result_page_links_the_midi_and_the_chords(alice_client, done) -> None:
    page = alice_client.get(reverse("separation-detail", args=[done.id])).content.decode()
    assert reverse("stem-midi", args=[done.id, "vocals"]) in page
    assert reverse("separation-chords", args=[done.id]) in page
