"""Web fixtures: named users (alice, bob), generated clips in every format, isolated media, a
finished separation made once per session, the real worker in batch mode, and one upload helper.

The worker separates with :class:`~demixer.testing.stand_in.StandInSession` (stems that are the
mix's frequency bands, in milliseconds) unless a test is marked ``@pytest.mark.model``: those run
the real engine with the real weights (``make test``; ``make test-fast`` leaves them out).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from hashlib import sha256
from pathlib import Path

import numpy as np
import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from demixer.engine.htdemucs import model as onnx_model
from demixer.engine.options import SessionConfig
from demixer.engine.registry import DEFAULT_MODEL
from demixer.engine.separate import SeparationOptions, separate_file
from demixer.engine.spleeter import model as spleeter
from demixer.separation import masters as stem_files
from demixer.separation import tasks
from demixer.separation.models import Separation, Status, Stem
from demixer.testing import signals
from demixer.testing.files import INPUT_FORMATS, write_audio
from demixer.testing.stand_in import StandInSession
from demixer.tracks.models import Track
from demixer.tracks.uploads import sha256_of

PASSWORD = "correct horse battery staple"


@pytest.fixture
def media_dir(tmp_path: Path) -> Path:
    """Each test stores files in a folder of its own, so "nothing left behind" can be checked."""
    path = tmp_path / "media"
    path.mkdir()
    return path


@pytest.fixture(autouse=True)
def web_settings(settings, media_dir: Path) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = str(media_dir)
    static = media_dir.parent / "static"
    static.mkdir(exist_ok=True)
    settings.STATIC_ROOT = str(static)  # whitenoise serves from finders; this only needs to exist
    # whitenoise looks a static file up when it is asked for, instead of listing and stat-ing
    # every one of them each time a test's client builds the middleware (most of a page test's
    # time); the served files and their headers are the same
    settings.WHITENOISE_AUTOREFRESH = True
    settings.SEPARATION_THREADS = 0
    cache.clear()  # the throttles count there, per process: each test starts from nothing


@pytest.fixture(autouse=True)
def engine_stand_in(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> dict[tuple[str, str], StandInSession] | None:
    """The worker's sessions (by model and quality) are stand-ins, created on first use, unless
    the test is marked ``model``; then None and the real engine runs. Creating a real session
    in an unmarked test fails it, so the mark always says which tests run the network."""
    if request.node.get_closest_marker("model"):
        return None
    sessions: dict[tuple[str, str], StandInSession] = {}

    def worker_model(model: str = DEFAULT_MODEL, quality: str = "default") -> StandInSession:
        if (model, quality) not in sessions:
            sessions[model, quality] = StandInSession(tasks._session_config(quality, model))
        return sessions[model, quality]

    def refused(*args: object, **kwargs: object) -> None:
        pytest.fail("this test runs the real model: mark it @pytest.mark.model", pytrace=False)

    monkeypatch.setattr(tasks, "worker_model", worker_model)
    monkeypatch.setattr(onnx_model, "shared_model", refused)
    monkeypatch.setattr(spleeter, "shared_spleeter", refused)
    return sessions


def upload(client: Client, *paths: Path, mode: str = "4", **options: str):
    """Post ``paths`` to the upload form as a browser does (``options``: quality, model, ...)."""
    handles = [p.open("rb") for p in paths]
    try:
        return client.post(reverse("separation-new"), {"files": handles, "mode": mode, **options})
    finally:
        for handle in handles:
            handle.close()


@pytest.fixture
def alice(django_user_model):
    return django_user_model.objects.create_user("alice", "alice@example.com", PASSWORD)


@pytest.fixture
def bob(django_user_model):
    return django_user_model.objects.create_user("bob", "bob@example.com", PASSWORD)


@pytest.fixture
def alice_client(alice) -> Client:
    client = Client()
    client.force_login(alice)
    return client


@pytest.fixture
def bob_client(bob) -> Client:
    client = Client()
    client.force_login(bob)
    return client


@pytest.fixture(scope="session")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A 3-second generated song in every accepted input format: kind -> path."""
    folder = tmp_path_factory.mktemp("clips")
    mix = signals.mix(signals.song(3.0, seed=11))
    return {
        kind: write_audio(folder / f"song-{kind}{suffix}", mix, signals.RATE, kind)
        for kind, suffix in INPUT_FORMATS.items()
    }


@pytest.fixture(scope="session")
def make_clip(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """Write a fresh clip: ``make_clip(seconds, seed, kind="wav16")`` (distinct content)."""
    folder = tmp_path_factory.mktemp("made")

    def make(seconds: float, seed: int, kind: str = "wav16") -> Path:
        path = folder / f"clip-{seconds}-{seed}{INPUT_FORMATS[kind]}"
        if not path.exists():
            mix = signals.mix(signals.song(seconds, seed=seed))
            write_audio(path, mix, signals.RATE, kind)
        return path

    return make


def media_files(root: Path) -> list[Path]:
    return sorted(p for p in Path(root).rglob("*") if p.is_file())


def run_worker() -> None:
    """The real separation worker, in batch mode: process what is queued, then return."""
    call_command("separation_worker", "--batch", "--no-warm-up", "--interval", "0")


@pytest.fixture(scope="session")
def engine_stems(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, dict[str, Path], dict[str, Path], dict[str, list[float]]]:
    """One separation of a 6 s clip (the real ``separate_file`` with the stand-in session: the
    tests that use it are about files, downloads and pages, not the stems' content), written as
    the worker writes it: (original, masters by stem, previews by stem, peaks by stem)."""
    folder = tmp_path_factory.mktemp("engine-stems")
    original = write_audio(
        folder / "song.flac", signals.mix(signals.song(6.0, seed=3)), signals.RATE, "flac"
    )
    result = separate_file(
        original, SeparationOptions(), model=StandInSession(SessionConfig(DEFAULT_MODEL))
    )
    masters = {
        n: stem_files.write_master(w, folder / f"{n}.flac", result.rate, {})
        for n, w in result.stems.items()
    }
    previews = {
        n: stem_files.write_preview(w, folder / f"{n}.mp3", result.rate)
        for n, w in result.stems.items()
    }
    return original, masters, previews, stem_files.peaks(result.stems)


@pytest.fixture
def make_done_separation(engine_stems, media_dir: Path) -> Callable[..., Separation]:
    """Rows and stored files of a finished 4-stem separation owned by ``user``."""
    original, masters, previews, peaks = engine_stems

    def make(user, title: str = "Song") -> Separation:
        info_rate, duration = 44100, 6.0
        track = Track(
            owner=user,
            title=title,
            original_name="song.flac",
            # the real hash for the default title (dedup tests upload the same bytes)
            sha256=sha256_of(original) if title == "Song" else sha256(title.encode()).hexdigest(),
            size=original.stat().st_size,
            duration=duration,
            sample_rate=info_rate,
            channels=2,
            codec="flac",
            content_type="audio/flac",  # as an upload measures it
        )
        with original.open("rb") as fh:
            from django.core.files import File

            track.original.save("song.flac", File(fh), save=False)
        track.save()
        job = Separation.objects.create(track=track, status=Status.DONE, progress=1.0)
        folder = media_dir / job.storage_dir()
        (folder / "preview").mkdir(parents=True, exist_ok=True)
        for i, name in enumerate(masters):
            shutil.copy(masters[name], folder / f"{name}.flac")
            shutil.copy(previews[name], folder / "preview" / f"{name}.mp3")
            Stem.objects.create(
                separation=job,
                name=name,
                position=i,
                master=f"{job.storage_dir()}/{name}.flac",
                preview=f"{job.storage_dir()}/preview/{name}.mp3",
                peaks=peaks[name],
            )
        return job

    return make


def decode_bytes(data: bytes, tmp_path: Path, suffix: str) -> tuple[np.ndarray, int]:
    """Decode a downloaded body with the engine: float32 (2, N) and its rate."""
    from demixer.engine import audio

    path = tmp_path / f"download{suffix}"
    path.write_bytes(data)
    decoded = audio.decode(path, rate=None)
    return decoded.samples, decoded.rate


def body(response) -> bytes:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return response.content
