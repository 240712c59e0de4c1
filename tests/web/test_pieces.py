"""Listen while it separates, the worker's and the web's side: pieces published while a job
runs, only the current claim's, removed on cancel, failure and completion, served to the owner
only (page, status JSON, API), on local and S3 storage.

The worker tests run the real worker in batch mode (``run_worker``); unmarked ones separate
with the stand-in session, which hands over each piece as it writes it, as the engine does;
the ``model`` one runs the real engine.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from django.core.files.storage import default_storage
from django.urls import reverse
from django.utils import timezone

from demixer.engine.errors import EngineError
from demixer.engine.separate import Piece
from demixer.separation import pieces, services, tasks
from demixer.separation.models import Separation, Status
from tests.web.conftest import run_worker, upload

pytestmark = pytest.mark.django_db(transaction=True)

RATE = 44100
NAMES = ("drums", "bass", "other", "vocals")


class Recorder:
    """Spies on the worker: each piece as stored (bytes) and the row right after, the stems
    the worker stored at the end. ``after_write(publisher, index)`` runs after each write."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, after_write=None) -> None:
        self.written: list[dict] = []
        self.stored: dict[str, np.ndarray] = {}
        real_write = pieces.Publisher._write
        real_store = tasks._store_stems

        def write(publisher: pieces.Publisher, piece: Piece) -> None:
            real_write(publisher, piece)
            if publisher.stopped:  # the row refused it (cancelled): its file is gone again
                return
            index = len(publisher.ends) - 1
            name = pieces.piece_name(publisher.job, publisher.token, index)
            with publisher.storage.open(name, "rb") as fh:
                data = fh.read()
            row = Separation.objects.get(id=publisher.job.id)
            self.written.append(
                {"token": publisher.token, "piece": piece, "bytes": data, "row": row}
            )
            if after_write is not None:
                after_write(publisher, index)

        def store(job, stems, *args, **kwargs):
            self.stored = {name: np.array(wav) for name, wav in stems.items()}
            return real_store(job, stems, *args, **kwargs)

        monkeypatch.setattr(pieces.Publisher, "_write", write)
        monkeypatch.setattr(tasks, "_store_stems", store)

    def joined(self, names: list[str]) -> dict[str, np.ndarray]:
        """The published files, read back as the browser does, joined per stem."""
        parts: dict[str, list[np.ndarray]] = {name: [] for name in names}
        for item in self.written:
            s = item["piece"]
            block = np.frombuffer(item["bytes"], dtype="<f4").reshape(
                len(names), 2, s.end - s.start
            )
            for i, name in enumerate(names):
                parts[name].append(block[i])
        return {name: np.concatenate(p, axis=-1) for name, p in parts.items()}


def live_files(job: Separation) -> list[str]:
    found: list[str] = []

    def walk(prefix: str) -> None:
        try:
            dirs, names = default_storage.listdir(prefix)
        except FileNotFoundError:
            return
        found.extend(f"{prefix}/{n}" for n in names)
        for d in dirs:
            walk(f"{prefix}/{d}")

    walk(pieces.live_root(job))
    return found


def check_published_run(recorder: Recorder, job: Separation) -> None:
    assert job.status == Status.DONE, job.error
    assert len(recorder.written) >= 2, "a clip of several segments gives several pieces"
    ends = [item["piece"].end for item in recorder.written]
    assert ends == sorted(ends) and recorder.written[0]["piece"].start == 0
    # the row said how much was ready after each one
    ready = [item["row"].ready_seconds for item in recorder.written]
    assert ready == [end / RATE for end in ends]
    assert [len(item["row"].live["ends"]) for item in recorder.written] == list(
        range(1, len(ends) + 1)
    )
    names = list(recorder.stored)
    joined = recorder.joined(names)
    for name in names:  # bit-identical to the stems the worker stored
        np.testing.assert_array_equal(joined[name], recorder.stored[name])
    assert live_files(job) == []  # completion removed them


def test_worker_publishes_pieces_that_join_into_the_stems(
    alice_client, make_clip, media_dir, monkeypatch
) -> None:
    recorder = Recorder(monkeypatch)
    upload(alice_client, make_clip(13.0, seed=61))
    run_worker()
    job = Separation.objects.get()
    check_published_run(recorder, job)
    assert alice_client.get(reverse("separation-status", args=[job.id])).json()["ready"] is None


@pytest.mark.model
def test_real_engine_pieces_join_into_the_stems(
    alice_client, make_clip, media_dir, monkeypatch
) -> None:
    recorder = Recorder(monkeypatch)
    upload(alice_client, make_clip(13.0, seed=62))
    run_worker()
    job = Separation.objects.get()
    check_published_run(recorder, job)
    assert len(recorder.written) == 3  # one per segment of 0 / 5.85 / 11.7 s


def test_cancel_removes_the_pieces(alice_client, make_clip, media_dir, monkeypatch) -> None:
    seen: list[list[str]] = []

    def cancel_after_first(publisher: pieces.Publisher, index: int) -> None:
        if index == 0:
            seen.append(live_files(publisher.job))
            services.cancel(Separation.objects.get(id=publisher.job.id))

    recorder = Recorder(monkeypatch, cancel_after_first)
    upload(alice_client, make_clip(13.0, seed=63))
    run_worker()
    job = Separation.objects.get()
    assert job.status == Status.CANCELLED
    assert len(seen) == 1 and len(seen[0]) == 1  # the first piece was on storage
    first = recorder.written[0]
    assert live_files(job) == []  # and is gone
    assert job.stems.count() == 0
    url = reverse("separation-piece", args=[job.id, first["token"], 0])
    assert alice_client.get(url).status_code == 404
    assert alice_client.get(reverse("separation-status", args=[job.id])).json()["ready"] is None


def test_failure_removes_the_pieces(alice_client, make_clip, media_dir, monkeypatch) -> None:
    recorder = Recorder(monkeypatch)
    real_call = pieces.Publisher.__call__

    def fail_on_second(publisher: pieces.Publisher, piece: Piece) -> None:
        if piece.start > 0:
            publisher._pool.submit(lambda: None).result()  # the first one is written
            raise EngineError("The file is damaged after the first seconds.")
        real_call(publisher, piece)

    monkeypatch.setattr(pieces.Publisher, "__call__", fail_on_second)
    upload(alice_client, make_clip(13.0, seed=64))
    run_worker()
    job = Separation.objects.get()
    assert job.status == Status.FAILED
    assert job.error == "The file is damaged after the first seconds."
    assert len(recorder.written) == 1
    assert live_files(job) == []


def synthetic(start: int, end: int, total: int, seed: int) -> Piece:
    rng = np.random.default_rng(seed)
    stems = {n: rng.standard_normal((2, end - start)).astype(np.float32) for n in NAMES}
    return Piece(start, end, total, RATE, stems)


def running_job(client, make_clip, worker_id: str, seconds: float = 3.0) -> Separation:
    upload(client, make_clip(seconds, seed=65))
    job = Separation.objects.get()
    claimed = services.claim(str(job.id), worker_id)
    assert claimed is not None
    return claimed


def test_a_retry_discards_the_dead_attempts_pieces(
    alice_client, make_clip, media_dir, monkeypatch, settings
) -> None:
    settings.SEPARATION_MAX_ATTEMPTS = 2
    dead_id = "deadhost:1:aaaa"
    job = running_job(alice_client, make_clip, dead_id)
    dead = pieces.Publisher(job, dead_id)
    dead.start()
    dead(synthetic(0, RATE, 3 * RATE, seed=1))
    dead._pool.submit(lambda: None).result()
    assert len(live_files(job)) == 1
    assert Separation.objects.get().live["claim"] == dead.token
    # the worker stops beating: the job goes back to the queue, and another worker runs it
    assert services.recover_stale(timezone.now() + timedelta(hours=1)) == (1, 0)
    assert Separation.objects.get().live == {}  # the dead claim's pieces no longer count
    at_first_write: list[list[str]] = []

    def note(publisher: pieces.Publisher, index: int) -> None:
        if index == 0:
            at_first_write.append(live_files(publisher.job))

    recorder = Recorder(monkeypatch, note)
    run_worker()
    job.refresh_from_db()
    assert job.status == Status.DONE, job.error
    assert job.attempts == 2
    retry = recorder.written[0]["token"]
    assert retry != dead.token
    # when the retry published its first piece, only its own were there
    assert at_first_write[0] == [pieces.piece_name(job, retry, 0)]
    assert all(item["row"].live["claim"] == retry for item in recorder.written)
    # the dead worker wakes up and publishes again: not recorded, and its file is removed
    dead(synthetic(RATE, 2 * RATE, 3 * RATE, seed=2))
    dead.discard()
    job.refresh_from_db()
    assert job.live["claim"] == retry
    assert live_files(job) == []


def test_status_page_and_api_serve_the_pieces_to_the_owner_only(
    alice_client, bob_client, make_clip, media_dir
) -> None:
    worker_id = "host:2:bbbb"
    job = running_job(alice_client, make_clip, worker_id, seconds=9.0)
    total = 9 * RATE
    publisher = pieces.Publisher(job, worker_id)
    publisher.start()
    first = synthetic(0, 4 * RATE, total, seed=3)
    publisher(first)
    publisher._pool.submit(lambda: None).result()

    status = alice_client.get(reverse("separation-status", args=[job.id])).json()
    ready = status["ready"]
    assert ready["claim"] == publisher.token and ready["stems"] == list(NAMES)
    assert ready["ready_seconds"] == 4.0 and ready["total_seconds"] == 9.0
    assert ready["opens_player"] is False  # 5 s left: the job page waits for the stems
    assert [(s["start"], s["end"]) for s in ready["pieces"]] == [(0, 4 * RATE)]
    assert len(ready["peaks"]["drums"]) == 800
    assert max(max(v) for v in ready["peaks"].values()) == 1.0
    # the waveform so far: peaks where audio is ready, zeros after it
    assert min(ready["peaks"]["bass"][:300]) > 0 and max(ready["peaks"]["bass"][400:]) == 0

    url = ready["pieces"][0]["url"]
    response = alice_client.get(url)
    assert response.status_code == 200
    data = b"".join(response.streaming_content)
    expected = np.stack([first.stems[n] for n in NAMES]).astype("<f4").tobytes()
    assert data == expected

    # the job page is the player now
    page = alice_client.get(reverse("separation-detail", args=[job.id]))
    assert page.templates[0].name == "player/result.html"
    assert b'id="live-data"' in page.content and b'data-live="true"' in page.content
    # the live player keeps the job's progress, and can cancel it (a confirm step, then a POST)
    html = page.content.decode()
    assert 'data-role="job-progress"' in html and 'data-role="job-eta"' in html
    assert f'action="{reverse("separation-cancel", args=[job.id])}"' in html
    assert 'data-action="cancel-confirm"' in html

    api = alice_client.get(reverse("api:separation", args=[job.id])).json()
    assert api["ready"]["ready_seconds"] == 4.0
    api_url = api["ready"]["pieces"][0]["url"]
    assert b"".join(alice_client.get(api_url).streaming_content) == expected
    # the list's name before the rename still answers, deprecated: the same pieces, same files
    assert api["ready"]["stretches"] == api["ready"]["pieces"]
    old_url = api["ready"]["stretches"][0]["url"]
    assert b"".join(alice_client.get(old_url).streaming_content) == expected
    assert "stretches" not in ready  # the page's own status JSON uses only the new name

    # another user: 404 everywhere, as for any other of alice's things
    for other in (
        url,
        api_url,
        reverse("separation-status", args=[job.id]),
        reverse("separation-detail", args=[job.id]),
        reverse("api:separation", args=[job.id]),
    ):
        assert bob_client.get(other).status_code == 404, other
    # a piece that is not ready, or of another claim: 404
    assert alice_client.get(url.replace("/0.f32", "/1.f32")).status_code == 404
    wrong = url.replace(publisher.token, "0" * 16)
    assert alice_client.get(wrong).status_code == 404
    publisher.discard()
    assert live_files(job) == []


@pytest.fixture
def bucket(settings):
    from tests.web.test_object_storage import bucket as fixture

    yield from fixture.__wrapped__(settings)  # type: ignore[attr-defined]


def test_pieces_on_object_storage(alice_client, make_clip, media_dir, bucket) -> None:
    from tests.web.test_object_storage import BUCKET, keys

    worker_id = "host:3:cccc"
    job = running_job(alice_client, make_clip, worker_id, seconds=3.0)
    publisher = pieces.Publisher(job, worker_id)
    publisher.start()
    first, second = synthetic(0, RATE, 3 * RATE, 4), synthetic(RATE, 3 * RATE, 3 * RATE, 5)
    publisher(first)
    publisher(second)
    publisher.close()
    live = [k for k in keys(bucket) if "/live/" in k]
    assert len(live) == 2
    ready = alice_client.get(reverse("separation-status", args=[job.id])).json()["ready"]
    data = b"".join(alice_client.get(ready["pieces"][1]["url"]).streaming_content)
    assert data == np.stack([second.stems[n] for n in NAMES]).astype("<f4").tobytes()
    publisher.discard()
    assert [k for k in keys(bucket) if "/live/" in k] == []
    assert BUCKET


def test_the_job_page_opens_the_player_only_with_enough_left_to_separate() -> None:
    def ready(end_s: float, total_s: float) -> dict:
        live = {"claim": "c", "rate": RATE, "total": int(total_s * RATE), "stems": list(NAMES)}
        job = Separation(status=Status.RUNNING, live={**live, "ends": [int(end_s * RATE)]})
        payload = pieces.ready_payload(job)
        assert payload is not None
        return payload

    assert ready(5.85, 23.0)["opens_player"] is True
    assert ready(5.85, 6.0)["opens_player"] is False  # two segments, the second a sliver
    assert ready(17.55, 23.0)["opens_player"] is False
    assert pieces.ready_payload(Separation(status=Status.DONE, live={"ends": [1]})) is None
