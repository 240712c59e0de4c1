"""A custom mix's file is named after the track and what the mix changed, not "(mix)"."""

from __future__ import annotations

import pytest
from django.urls import reverse

from demixer.exports.controller import mix_part
from tests.web.conftest import run_worker

LABELS = {"drums": "Drums", "bass": "Bass", "other": "Other", "vocals": "Vocals"}


@pytest.mark.parametrize(
    ("params", "part"),
    [
        ({"gains": dict.fromkeys(LABELS, 1.0)}, "mix"),
        ({"gains": {**dict.fromkeys(LABELS, 1.0), "vocals": 0.0}}, "mix, no Vocals"),
        (
            {"gains": {**dict.fromkeys(LABELS, 1.0), "vocals": 0.0}, "tempo": 0.9, "pitch": 0.0},
            "mix, no Vocals, 90% tempo",
        ),
        ({"gains": {"drums": 0.0, "bass": 0.0, "other": 0.0, "vocals": 1.0}}, "mix, only Vocals"),
        (
            {"gains": {"drums": 0.5, "bass": 2.0, "other": 1.0, "vocals": 1.0}},
            "mix, Drums 50%, Bass 200%",
        ),
        (
            {"gains": dict.fromkeys(LABELS, 1.0), "pans": {"bass": -0.5}, "tempo": 1.0, "pitch": 2},
            "mix, Bass 50% left, +2 semitones",
        ),
        ({"gains": dict.fromkeys(LABELS, 1.0), "tempo": 1.0, "pitch": -1.0}, "mix, -1 semitone"),
    ],
)
def test_mix_part_says_what_changed(params, part) -> None:
    assert mix_part(params, LABELS) == part


@pytest.mark.django_db(transaction=True)
def test_a_mix_downloads_under_a_name_that_says_what_it_is(
    alice, alice_client, make_done_separation
):
    job = make_done_separation(alice, title="My Song")
    data = {"gain_drums": "1", "gain_bass": "1", "gain_other": "1", "gain_vocals": "0"}
    response = alice_client.post(
        reverse("separation-mix", args=[job.id]), {**data, "format": "flac"}
    )
    assert response.status_code == 202
    run_worker()
    result = alice_client.get(response.json()["download_url"])
    assert result.status_code == 200
    assert "My Song (mix, no vocals).flac" in result["Content-Disposition"]
