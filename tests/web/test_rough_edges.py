"""The rough edges a new user hit, one test each: titles from the file's tags and
downloads named after them, one "Instrumental" on a 2-stem result, a multi-file upload that keeps
its good files, what "already ..." says while a job waits, one rounding rule for durations,
progress while the stems are written, the log-in error's wording, and a reset link that works
when copied from the console."""

from __future__ import annotations

import re
import runpy
from importlib.util import find_spec
from urllib.parse import unquote, urlsplit

import numpy as np
import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from demixer.engine.audio import duration_text
from demixer.separation import services, tasks
from demixer.separation.models import Separation, Status
from demixer.testing import signals
from demixer.testing.files import write_audio
from demixer.tracks.models import Track
from tests.web.conftest import PASSWORD, run_worker, upload

pytestmark = pytest.mark.django_db

TAGS = {"artist": "Nina Simone", "title": "Sinnerman"}


def tagged_clip(folder, name: str, kind: str, tags: dict[str, str], seed: int = 41):
    mix = signals.mix(signals.song(2.0, seed=seed))
    return write_audio(folder / name, mix, signals.RATE, kind, tags=tags)


def disposition_name(response) -> str:
    """The file name a browser saves: from ``filename*`` (UTF-8) or the quoted ``filename``."""
    header = response["Content-Disposition"]
    if match := re.search(r"filename\*=utf-8''(\S+)", header):
        return unquote(match.group(1))
    return re.search(r'filename="((?:[^"\\]|\\.)*)"', header).group(1).replace('\\"', '"')


# -- titles and download names ------------------------------------------------------------


@pytest.mark.parametrize("kind", ["flac", "mp3", "m4a", "wav16"])
def test_title_and_artist_come_from_the_files_tags(alice, alice_client, tmp_path, kind) -> None:
    clip = tagged_clip(tmp_path, f"mixture{kind}", kind, TAGS)
    upload(alice_client, clip)
    track = Track.objects.get(owner=alice)
    assert (track.artist, track.title) == ("Nina Simone", "Sinnerman")
    assert track.original_name == clip.name  # the file's own name is kept beside them
    library = alice_client.get(reverse("library")).content.decode()
    assert "Nina Simone – Sinnerman" in library and "mixture" not in library


def test_without_tags_the_file_name_is_the_title(alice, alice_client, tmp_path) -> None:
    upload(alice_client, tagged_clip(tmp_path, "song take 3.flac", "flac", {}))
    track = Track.objects.get(owner=alice)
    assert (track.artist, track.title, track.display_title) == ("", "song take 3", "song take 3")


def test_tags_are_read_as_one_clean_line(alice, alice_client, tmp_path) -> None:
    messy = {"artist": "  The\tBand \n", "title": "Line\x01one\nLine two " + "x" * 300}
    upload(alice_client, tagged_clip(tmp_path, "messy.flac", "flac", messy))
    track = Track.objects.get(owner=alice)
    assert track.artist == "The Band"
    assert track.title.startswith("Line one Line two xxx") and len(track.title) == 200


def test_downloads_are_named_artist_title_and_stem(alice, alice_client, make_done_separation):
    job = make_done_separation(alice, title="Sinnerman")
    Track.objects.filter(id=job.track_id).update(artist="Nina Simone")
    stem = alice_client.get(reverse("stem-download", args=[job.id, "drums", "flac"]))
    assert disposition_name(stem) == "Nina Simone - Sinnerman (drums).flac"
    archive = alice_client.get(reverse("separation-zip", args=[job.id]))
    assert disposition_name(archive) == "Nina Simone - Sinnerman (stems).zip"
    page = alice_client.get(reverse("separation-detail", args=[job.id])).content.decode()
    assert "Nina Simone – Sinnerman" in page


@pytest.mark.parametrize(
    ("artist", "title", "saved"),
    [
        ("AC/DC", 'Who "Made" Who?', "AC DC - Who Made Who (vocals).flac"),
        ("", "..hidden\x00name", "hidden name (vocals).flac"),
        ("Sigur Rós", "Hoppípolla", "Sigur Rós - Hoppípolla (vocals).flac"),
        ("", "CON", "CON_ (vocals).flac"),  # a name Windows reserves
    ],
)
def test_download_names_are_safe_to_save_anywhere(
    alice, alice_client, make_done_separation, artist, title, saved
) -> None:
    job = make_done_separation(alice, title="placeholder")
    Track.objects.filter(id=job.track_id).update(artist=artist, title=title)
    response = alice_client.get(reverse("stem-download", args=[job.id, "vocals", "flac"]))
    assert disposition_name(response) == saved
    assert response["Content-Disposition"].isascii()  # a header: non-ASCII goes in filename*


def test_a_very_long_title_keeps_the_stem_in_the_name(alice, alice_client, make_done_separation):
    job = make_done_separation(alice, title="é" * 200)
    response = alice_client.get(reverse("stem-download", args=[job.id, "bass", "flac"]))
    name = disposition_name(response)
    assert name.endswith(" (bass).flac") and len(name.encode()) <= 200


# -- one instrumental on a 2-stem result ---------------------------------------------------


@pytest.mark.model
@pytest.mark.django_db(transaction=True)  # the job reaches the worker's queue on commit
def test_a_two_stem_result_shows_instrumental_once(alice_client, make_clip) -> None:
    upload(alice_client, make_clip(2.0, seed=23), mode="2")
    run_worker()  # the real worker and model
    job = Separation.objects.get()
    assert job.status == Status.DONE, job.error
    page = alice_client.get(reverse("separation-detail", args=[job.id]))
    html = page.content.decode()
    assert [s["label"] for s in page.context["stems"]] == ["Vocals", "Instrumental"]
    assert page.context["instrumental_url"] is None
    assert html.count(">Instrumental<") == 1  # the stem's row, not also a second button
    assert reverse("separation-instrumental", args=[job.id, "wav"]) not in html


def test_a_four_stem_result_still_offers_the_instrumental(
    alice, alice_client, make_done_separation
):
    job = make_done_separation(alice)
    html = alice_client.get(reverse("separation-detail", args=[job.id])).content.decode()
    assert reverse("separation-instrumental", args=[job.id, "wav"]) in html


# -- a multi-file upload with a bad file -----------------------------------------------------


def test_good_files_are_kept_and_the_bad_one_is_named(
    alice, alice_client, make_clip, tmp_path, media_dir
) -> None:
    corrupt = tmp_path / "broken take.mp3"
    corrupt.write_bytes(np.random.default_rng(1).bytes(50_000))
    good = [make_clip(2.0, seed=31), make_clip(2.0, seed=32)]
    response = upload(alice_client, good[0], corrupt, good[1])
    assert response.status_code == 302 and response.url == reverse("library")
    assert sorted(Track.objects.values_list("title", flat=True)) == sorted(p.stem for p in good)
    assert Separation.objects.filter(status=Status.QUEUED).count() == 2
    said = [str(m) for m in get_messages(response.wsgi_request)]
    refusals = [m for m in said if "broken take.mp3" in m]
    assert refusals == ["Not added: broken take.mp3: not a recognised audio file"], said
    assert "2 tracks queued for separation." in said
    page = alice_client.get(response.url).content.decode()
    assert "Not added: broken take.mp3: not a recognised audio file" in page
    assert len(list((media_dir / "tracks").rglob("original*"))) == 2  # nothing of the bad one


def test_the_pages_script_is_sent_on_and_told_the_same(alice_client, make_clip, tmp_path):
    corrupt = tmp_path / "noise.wav"
    corrupt.write_bytes(b"RIFF" + bytes(100))
    with make_clip(2.0, seed=33).open("rb") as good, corrupt.open("rb") as bad:
        response = alice_client.post(
            reverse("separation-new"),
            {"files": [good, bad], "mode": "4"},
            headers={"Accept": "application/json"},
        )
    job = Separation.objects.get()
    assert response.json() == {"redirect": reverse("separation-detail", args=[job.id])}
    page = alice_client.get(response.json()["redirect"]).content.decode()
    assert "Not added: noise.wav:" in page


def test_when_every_file_is_bad_nothing_is_stored_and_each_is_named(
    alice_client, tmp_path, media_dir
) -> None:
    bad = []
    for name in ("a.mp3", "b.flac"):
        (tmp_path / name).write_text("not audio at all\n" * 50)
        bad.append(tmp_path / name)
    response = upload(alice_client, *bad)
    assert response.status_code == 200
    lines = re.findall(r"<p>([^<]*)</p>", response.content.decode())
    assert [line.split(":")[0] for line in lines if ": " in line][:2] == ["a.mp3", "b.flac"]
    assert not Track.objects.exists() and not (media_dir / "tracks").exists()


def test_refused_files_are_named_when_the_quota_stops_the_rest(
    alice_client, make_clip, tmp_path, settings
) -> None:
    settings.MAX_QUEUED_PER_USER = 1
    bad = tmp_path / "bad.ogg"
    bad.write_text("nope")
    response = upload(alice_client, make_clip(2.0, seed=34), bad, make_clip(2.0, seed=36))
    html = response.content.decode()
    assert response.status_code == 200 and not Track.objects.exists()
    assert "Queue limit" in html
    assert "Not added: bad.ogg: not a recognised audio file" in html


# -- "already ..." says where the earlier job is -------------------------------------------


@pytest.mark.parametrize(
    ("status", "said"),
    [
        (Status.QUEUED, "is already queued with these options"),
        (Status.RUNNING, "is already being separated with these options"),
        (Status.DONE, "was already separated with these options"),
    ],
)
def test_the_same_upload_again_says_where_the_first_job_is(
    alice_client, clips, status, said
) -> None:
    first = upload(alice_client, clips["flac"])
    Separation.objects.update(status=status)
    second = upload(alice_client, clips["flac"])
    assert second.url == first.url
    page = alice_client.get(second.url).content.decode()
    assert said in page
    assert ("already separated" in page) == (status == Status.DONE)


# -- durations: one rounding rule -----------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(25.6, "0:25"), (25.0, "0:25"), (59.99, "0:59"), (60.0, "1:00"), (23.999999999999876, "0:24")],
)
def test_durations_count_whole_seconds_as_the_players_clock(seconds, shown) -> None:
    # player.js: m = floor(s / 60), s = floor(s % 60)
    assert duration_text(seconds) == shown


def test_library_and_job_page_show_the_players_duration(alice, alice_client, make_done_separation):
    job = make_done_separation(alice)
    Track.objects.filter(id=job.track_id).update(duration=25.6)
    library = alice_client.get(reverse("library")).content.decode()
    assert "0:25 · added" in library and "0:26" not in library
    Separation.objects.filter(id=job.id).update(status=Status.QUEUED)
    page = alice_client.get(reverse("separation-detail", args=[job.id])).content.decode()
    assert "0:25" in page and "0:26" not in page


# -- progress while the stems are written ----------------------------------------------------


@pytest.mark.django_db(transaction=True)  # the job reaches the worker's queue on commit
def test_writing_the_stems_moves_the_bar_with_an_estimate(
    alice_client, make_clip, monkeypatch
) -> None:
    """The real worker (stand-in session): from the separating stage's end to done, every stem
    file written moves the bar on and says how long is left."""
    reports: list[tuple[float, str, float | None]] = []
    real = services.report

    def spy(job_id: str, claim: str, progress: float, stage: str, eta: float | None) -> None:
        reports.append((progress, stage, eta))
        real(job_id, claim, progress, stage, eta)

    monkeypatch.setattr(services, "report", spy)
    upload(alice_client, make_clip(2.0, seed=35))
    run_worker()
    assert Separation.objects.get().status == Status.DONE
    writing = [r for r in reports if r[1] == "writing stems"]
    start = tasks.DECODE_SHARE + tasks.SEPARATE_SHARE
    assert writing[0] == (pytest.approx(start), "writing stems", None)  # nothing written yet
    steps = writing[1:]
    assert len(steps) == 2 * 4  # a master and a preview per stem
    progress = [p for p, _, _ in steps]
    assert progress == sorted(progress) and len(set(progress)) == len(progress)
    assert start < progress[0] and progress[-1] < 1.0  # 100 % once the job is recorded
    etas = [eta for _, _, eta in steps]
    assert all(eta is not None and eta >= 0 for eta in etas) and etas[-1] == 0


# -- accounts ----------------------------------------------------------------------------------


def test_the_login_error_says_only_the_password_is_case_sensitive(alice, client: Client):
    response = client.post(reverse("login"), {"username": "ALICE", "password": "wrong"})
    html = response.content.decode()
    assert "may be case-sensitive" not in html
    assert "The password is case-sensitive; the username and email are not." in html
    # and it is true: the username in any case, with the right password, logs in
    right = client.post(reverse("login"), {"username": "ALICE", "password": PASSWORD})
    assert right.status_code == 302


def test_the_reset_link_copied_from_the_console_resets_the_password(
    alice, client: Client, settings, monkeypatch, capsys
) -> None:
    """Through the console backend `make run` uses: the printed link, copied as printed, leads
    to a form that sets a new password, which then logs in."""
    monkeypatch.setenv("DEMIXER_EMAIL_BACKEND", "console")
    monkeypatch.delenv("EMAIL_HOST", raising=False)
    settings.MAILERS = runpy.run_path(find_spec("demixer.config.settings").origin)["MAILERS"]
    host = "demixer.studio-in-the-basement.example.org:8000"  # a long link: over 78 characters
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, host.split(":")[0]]
    client.post(reverse("password_reset"), {"email": alice.email}, HTTP_HOST=host)
    printed = capsys.readouterr().out
    assert "=3D" not in printed and "=\n" not in printed  # no quoted-printable anywhere
    [link] = [line.strip() for line in printed.splitlines() if "/accounts/reset/" in line]
    assert len(link) > 78 and link.startswith(f"http://{host}/accounts/reset/")
    form_url = client.get(urlsplit(link).path, HTTP_HOST=host).url
    new_password = "a brand new passphrase 71"
    done = client.post(
        form_url, {"new_password1": new_password, "new_password2": new_password}, HTTP_HOST=host
    )
    assert done.status_code == 302 and done.url == reverse("password_reset_complete")
    login = {"username": "alice", "password": new_password}
    assert client.post(reverse("login"), login, HTTP_HOST=host).status_code == 302
