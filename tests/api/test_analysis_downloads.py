"""A stem's MIDI and the chords through the API: render jobs like the other downloads (202,
the worker, then the file), the chords also as JSON; linked from the separation and described
in the OpenAPI document; another user's separation is a 404."""

from __future__ import annotations

import io

import mido
import pytest

from demixer.engine.analysis import chords
from demixer.separation.models import Separation, Status
from tests.api.test_downloads import base, rendered

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def done(alice, make_done_separation) -> Separation:
    return make_done_separation(alice, title="My Song")


def test_a_stems_midi(alice_api, done) -> None:
    data = rendered(alice_api, alice_api.get(f"{base(done)}/midi/bass.mid"))
    song = mido.MidiFile(file=io.BytesIO(data))
    notes = [m for t in song.tracks for m in t if m.type == "note_on" and m.velocity > 0]
    assert notes
    tempos = [m.tempo for t in song.tracks for m in t if m.type == "set_tempo"]
    assert tempos == [mido.bpm2tempo(120.0)]  # the track's tempo was not measured
    again = alice_api.get(f"{base(done)}/midi/bass.mid")
    assert again.status_code == 200 and again["Content-Type"] == "audio/midi"


@pytest.mark.slow  # the chords of a generated song's stems (~2 s)
def test_the_chords_as_lab_and_as_json(alice_api, done) -> None:
    waiting = alice_api.get(f"{base(done)}/chords")
    assert waiting.status_code == 202 and waiting.json()["status"] == Status.QUEUED
    lab = rendered(alice_api, alice_api.get(f"{base(done)}/chords.lab")).decode()
    found = chords.from_lab(lab)
    assert found
    listed = alice_api.get(f"{base(done)}/chords")
    assert listed.status_code == 200
    assert listed.json()["chords"] == [
        {"start": c.start, "end": c.end, "label": c.label} for c in found
    ]


def test_the_separation_links_them(alice_api, done) -> None:
    data = alice_api.get(base(done) + "/").json()
    assert data["stems"][0]["midi"] == f"{base(done)}/midi/{data['stems'][0]['name']}.mid"
    assert data["chords"] == {"lab": f"{base(done)}/chords.lab", "json_url": f"{base(done)}/chords"}


def test_the_schema_documents_them(alice_api) -> None:
    paths = alice_api.get("/api/v1/openapi.json").json()["paths"]
    prefix = "/api/v1/separations/{separation_id}"
    assert {f"{prefix}/midi/{{name}}.mid", f"{prefix}/chords.lab", f"{prefix}/chords"} <= set(paths)
    chords_200 = paths[f"{prefix}/chords"]["get"]["responses"]["200"]
    assert "ChordsOut" in str(chords_200)


def test_another_users_separation_is_a_404(bob_api, done) -> None:
    for path in ("/midi/bass.mid", "/chords.lab", "/chords"):
        response = bob_api.get(base(done) + path)
        assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_a_running_separation_has_no_chords_yet(alice_api, done) -> None:
    Separation.objects.filter(id=done.id).update(status=Status.RUNNING)
    response = alice_api.get(f"{base(done)}/chords.lab")
    assert response.status_code == 409 and response.json()["code"] == "not_done"
