"""Models side by side: a result page offers the track's other finished separations (the owner's
page only: never a share link's, never a running job's), each with its label and stems, and
serves the chosen one's stems for the player to load; the library groups a track's separations
with a compare link once two are finished; the API lists a track's separations. (Which URLs
answer whom: tests/web/test_permissions.py and tests/api/test_permissions.py; the player in a
browser: tests/e2e/test_compare.py.)"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse

from demixer.player.context import result_context
from demixer.separation.models import Quality, Separation, Status, Stem
from demixer.sharing import services as sharing

pytestmark = pytest.mark.django_db


def another(job: Separation, *, minutes: int, status: str = Status.DONE, **options) -> Separation:
    """A separation of ``job``'s track made ``minutes`` after it, with ``options`` (model_name,
    quality, two_stems) and, when done, the stem rows its model gives (no files)."""
    other = Separation.objects.create(track=job.track, status=status, **options)
    Separation.objects.filter(id=other.id).update(created=job.created + timedelta(minutes=minutes))
    other.refresh_from_db()
    if status == Status.DONE:
        spec = other.model_spec
        assert spec is not None
        names = [other.two_stems, f"no_{other.two_stems}"] if other.two_stems else spec.sources
        for i, name in enumerate(names):
            Stem.objects.create(separation=other, name=name, position=i, peaks=[0.5] * 800)
    return other


def compare_data(page) -> dict | None:
    return page.context["compare"]


def test_the_owners_page_offers_the_tracks_other_finished_separations(
    alice, alice_client, make_done_separation
) -> None:
    job = make_done_separation(alice)  # htdemucs, 4 stems, best
    spleeter = another(job, minutes=1, model_name="spleeter")
    fast = another(job, minutes=2, quality=Quality.FAST)
    running = another(job, minutes=3, status=Status.RUNNING, two_stems="vocals")
    failed = another(job, minutes=4, status=Status.FAILED, model_name="spleeter")
    elsewhere = make_done_separation(alice, title="Another Song")

    response = alice_client.get(reverse("separation-detail", args=[job.id]))
    data = compare_data(response)
    assert data["this"]["id"] == str(job.id)
    assert data["this"]["label"] == "htdemucs, 4 stems, best"
    assert [s["name"] for s in data["this"]["stems"]] == ["drums", "bass", "other", "vocals"]
    # newest first; only finished ones of this track
    assert [o["id"] for o in data["others"]] == [str(fast.id), str(spleeter.id)]
    assert [o["label"] for o in data["others"]] == ["htdemucs, 4 stems, fast", "Spleeter, 2 stems"]
    by_id = {o["id"]: o for o in data["others"]}
    assert by_id[str(spleeter.id)]["stems"] == [
        {"name": "vocals", "label": "Vocals", "part": "vocals"},
        # paired with a two-stem job's instrumental
        {"name": "accompaniment", "label": "Accompaniment", "part": "no_vocals"},
    ]
    assert by_id[str(spleeter.id)]["stems_url"] == reverse(
        "separation-stems-json", args=[spleeter.id]
    )
    assert by_id[str(spleeter.id)]["page_url"] == reverse("separation-detail", args=[spleeter.id])

    page = response.content.decode()
    assert 'data-role="compare"' in page and 'id="compare-data"' in page
    assert page.count('data-role="stem-compare"') == 4  # a switch on every row
    assert f'<option value="{fast.id}">htdemucs, 4 stems, fast · ' in page
    assert f'<option value="{spleeter.id}">Spleeter, 2 stems · ' in page
    assert "X switches every stem between A and B" in page
    for hidden in (running, failed, elsewhere):
        assert str(hidden.id) not in page


def test_a_track_with_one_finished_separation_offers_no_comparison(
    alice, alice_client, make_done_separation
) -> None:
    job = make_done_separation(alice)
    another(job, minutes=1, status=Status.QUEUED, model_name="spleeter")
    response = alice_client.get(reverse("separation-detail", args=[job.id]))
    assert compare_data(response) is None
    page = response.content.decode()
    assert 'data-role="compare"' not in page and "compare-data" not in page
    assert 'data-role="stem-compare"' not in page and "X switches" not in page


def test_a_share_link_shows_no_other_separation_of_the_track(
    alice, alice_client, make_done_separation
) -> None:
    job = make_done_separation(alice)
    other = another(job, minutes=1, model_name="spleeter")
    token = sharing.create(job, "never", sharing.DOWNLOADS)[1]
    for viewer in (Client(), alice_client):  # a visitor, and the owner following her own link
        response = viewer.get(reverse("share-page", args=[token]))
        assert response.status_code == 200
        assert compare_data(response) is None
        page = response.content.decode()
        assert str(other.id) not in page and "compare-data" not in page
        assert 'data-role="compare"' not in page and "Spleeter" not in page


def test_a_running_jobs_page_offers_no_comparison(alice, make_done_separation) -> None:
    job = make_done_separation(alice)
    running = another(job, minutes=1, status=Status.RUNNING, quality=Quality.FAST)
    live = {"stems": ["drums", "bass", "other", "vocals"], "pieces": [], "peaks": {}}
    assert result_context(running, viewer=alice, live=live)["compare"] is None
    # and another viewer's context (no owner) never gets one
    other = another(job, minutes=2, model_name="spleeter")
    assert result_context(other, viewer=None)["compare"] is None
    assert result_context(other, viewer=alice)["compare"]["this"]["id"] == str(other.id)


def test_the_stems_of_a_separation_to_compare_with(
    alice, alice_client, bob_client, make_done_separation
) -> None:
    job = make_done_separation(alice)
    fast = make_done_separation(alice, title="Fast")  # real files: its previews play
    Separation.objects.filter(id=fast.id).update(track=job.track, quality=Quality.FAST)
    url = reverse("separation-stems-json", args=[fast.id])
    data = alice_client.get(url).json()
    assert data["id"] == str(fast.id) and data["label"] == "htdemucs, 4 stems, fast"
    assert [s["name"] for s in data["stems"]] == ["drums", "bass", "other", "vocals"]
    vocals = data["stems"][3]
    assert vocals["part"] == "vocals" and vocals["label"] == "Vocals"
    assert len(vocals["peaks"]) > 100 and vocals["colour"].startswith("#")
    assert vocals["preview_url"] == reverse("stem-preview", args=[fast.id, "vocals"])
    assert alice_client.get(vocals["preview_url"]).status_code == 200
    assert bob_client.get(url).status_code == 404  # the owner's only
    running = another(job, minutes=5, status=Status.RUNNING, model_name="spleeter")
    assert alice_client.get(reverse("separation-stems-json", args=[running.id])).status_code == 404


def test_the_library_groups_a_tracks_separations_and_offers_to_compare_them(
    alice, alice_client, make_done_separation
) -> None:
    job = make_done_separation(alice)
    spleeter = another(job, minutes=1, model_name="spleeter")
    failed = another(job, minutes=2, status=Status.FAILED, quality=Quality.FAST)
    alone = make_done_separation(alice, title="Lonely Song")
    another(alone, minutes=1, status=Status.FAILED, model_name="spleeter")

    page = alice_client.get(reverse("library")).content.decode()
    rows = {r.split('"', 1)[0]: r for r in page.split('id="track-')[1:]}  # by track id
    row = rows[str(job.track.id)]
    # every separation under its track, newest first, with model, stems, quality and status
    assert row.count('class="separation"') == 3
    order = [row.index(f'data-separation="{j.id}"') for j in (failed, spleeter, job)]
    assert order == sorted(order)
    assert ">Spleeter, 2 stems</a>" in row and ">htdemucs, 4 stems, best</a>" in row
    assert ">htdemucs, 4 stems, fast</a>" in row and 'status-failed">Failed' in row
    # compare: the newest finished one with the one before it
    compare = reverse("separation-detail", args=[spleeter.id]) + f"?compare={job.id}"
    assert f'href="{compare}" data-role="compare-link"' in row
    # a track with one finished separation has nothing to compare
    assert 'data-role="compare-link"' not in rows[str(alone.track.id)]


def test_the_api_lists_a_tracks_separations(alice, alice_client, make_done_separation) -> None:
    job = make_done_separation(alice)
    spleeter = another(job, minutes=1, model_name="spleeter")
    make_done_separation(alice, title="Another Song")
    url = reverse("api:track-separations", args=[job.track.id])
    data = alice_client.get(url).json()
    assert [s["id"] for s in data["separations"]] == [str(spleeter.id), str(job.id)]
    assert [s["model"] for s in data["separations"]] == ["spleeter", "htdemucs"]
    assert data["next_cursor"] is None
    first = alice_client.get(url, {"limit": 1}).json()
    assert [s["id"] for s in first["separations"]] == [str(spleeter.id)]
    rest = alice_client.get(url, {"limit": 1, "cursor": first["next_cursor"]}).json()
    assert [s["id"] for s in rest["separations"]] == [str(job.id)]


@pytest.mark.parametrize(
    ("options", "label"),
    [
        ({}, "htdemucs, 4 stems, best"),
        ({"quality": Quality.FAST}, "htdemucs, 4 stems, fast"),
        ({"two_stems": "vocals"}, "htdemucs, 2 stems (vocals / rest), best"),
        ({"model_name": "spleeter"}, "Spleeter, 2 stems"),
        ({"overlap": 0.5, "shifts": 2}, "htdemucs, 4 stems, best, overlap 50%, 2 shifts"),
        ({"model_name": "gone-model"}, "gone-model, best"),  # a model this version lacks
    ],
)
def test_a_separations_label_tells_it_from_the_tracks_others(options, label) -> None:
    assert Separation(**options).version_label == label
