"""Listen while it separates: the pieces a running job has published.

The engine hands the worker each final piece of every stem in song order (see
``demixer.engine.separate.Piece``). The worker's :class:`Publisher` writes each one to
storage as one small file and records it on the job row (``live`` and ``ready_seconds``),
together with the waveform peaks so far, so the result page can play what is ready.

A piece file is raw float32, little-endian, planar: every stem in the row's ``live.stems``
order, each its channels one after the other, ``end - start`` samples each. The browser turns
it into AudioBuffers without decoding, so pieces join sample-exactly and are bit-identical to
the stems the engine returns.

Only the current claim's pieces count: each claim publishes under a folder of its own
(``live/<claim token>/``), the row names that token, and a new claim starts by removing the
folders of earlier ones. Cancel, failure and completion remove the claim's folder.
"""

from __future__ import annotations

import hashlib
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import numpy as np
from django.core.files.base import ContentFile
from django.core.files.storage import Storage, default_storage
from django.db import connection
from django.urls import reverse

from demixer.ops import disk
from demixer.separation import files
from demixer.separation.models import Separation, Status

if TYPE_CHECKING:
    from demixer.engine.separate import Piece

logger = logging.getLogger(__name__)

PEAK_POINTS = 800  # as the stems' own peaks (render.PEAK_POINTS)
CHANNELS = 2
# the job page turns into the player only while more than this is left to separate: with less,
# the complete stems come within seconds (a short song is one or two segments) and the page
# waits for them instead of switching twice
OPEN_PLAYER_LEFT_S = 10.0


def claim_token(worker_id: str) -> str:
    """A folder name for one claim (worker ids hold a host name and colons)."""
    return hashlib.sha256(worker_id.encode()).hexdigest()[:16]


def live_root(job: Separation) -> str:
    return f"{job.storage_dir()}/live"


def piece_name(job: Separation, token: str, index: int) -> str:
    return f"{live_root(job)}/{token}/{index:05d}.f32"


def peak_edges(total: int, points: int = PEAK_POINTS) -> np.ndarray:
    """Bucket boundaries over the whole track, as ``render.peaks`` slices it."""
    return np.linspace(0, total, points + 1).astype(np.int64)


def piece_peaks(wav: np.ndarray, start: int, edges: np.ndarray) -> tuple[int, np.ndarray]:
    """Maxima of |x| over both channels of float32 (C, n) starting at ``start``, per bucket
    of ``edges`` it touches: (first bucket, float32 values)."""
    n = wav.shape[-1]
    end = start + n
    points = len(edges) - 1
    first = max(0, min(points - 1, int(np.searchsorted(edges, start, side="right")) - 1))
    last = max(first + 1, min(points, int(np.searchsorted(edges, end, side="left"))))
    bounds = np.clip(edges[first:last], start, end - 1) - start
    envelope = np.abs(wav).max(axis=0)
    return first, np.maximum.reduceat(envelope, bounds)


class Publisher:
    """The engine's ``on_ready`` for one claim of a job: writes each piece and records it.

    Called on the engine's host thread; the work runs on a thread of its own, in order, so
    neither the model nor the engine waits for storage or the database. Publishing is best
    effort: if it fails, the job goes on without it (the log says why), unless the disk is
    full (``storage_full``): then the job is stopped (the worker checks it between chunks).
    A piece whose write failed is removed at once.
    """

    def __init__(self, job: Separation, worker_id: str, storage: Storage = default_storage):
        self.job = job
        self.worker_id = worker_id
        self.token = claim_token(worker_id)
        self.storage = storage
        self.ends: list[int] = []
        self.peaks: dict[str, np.ndarray] = {}
        self.stopped = False
        self.storage_full = False
        self._closed = False
        self._pool = ThreadPoolExecutor(1, thread_name_prefix=f"publish-{job.id}")

    def start(self) -> None:
        """Remove what earlier claims of this job published (a worker that died mid-job)."""
        files.delete_tree(live_root(self.job), self.storage)

    def __call__(self, piece: Piece) -> None:
        self._pool.submit(self._publish, piece)

    def close(self) -> None:
        """Wait for what is queued; let go of the thread's database connection."""
        if self._closed:
            return
        self._closed = True
        self._pool.submit(connection.close)
        self._pool.shutdown(wait=True)

    def discard(self) -> None:
        """Stop publishing and remove this claim's pieces (cancelled, failed, or done)."""
        self.stopped = True
        self.close()
        files.delete_tree(f"{live_root(self.job)}/{self.token}", self.storage)

    def _publish(self, piece: Piece) -> None:
        if self.stopped:
            return
        try:
            self._write(piece)
        except Exception as exc:
            self.stopped = True
            if disk.is_storage_full(exc):
                self.storage_full = True
                logger.warning("job %s: a live piece found the disk full: %s", self.job.id, exc)
                return
            logger.exception("job %s: publishing pieces failed; the job goes on", self.job.id)

    def _write(self, piece: Piece) -> None:
        names = list(piece.stems)
        index = len(self.ends)
        name = piece_name(self.job, self.token, index)
        block = np.stack([piece.stems[n] for n in names]).astype("<f4", copy=False)
        try:
            saved = self.storage.save(name, ContentFile(block.tobytes()))
        except BaseException:
            self.storage.delete(name)  # what a failed write left (a full disk: a partial file)
            raise
        if saved != name:  # never expected: each claim has its own folder
            raise RuntimeError(f"storage saved {name} as {saved}")
        edges = peak_edges(piece.total)
        for n in names:
            first, values = piece_peaks(piece.stems[n], piece.start, edges)
            peaks = self.peaks.setdefault(n, np.zeros(PEAK_POINTS, dtype=np.float32))
            np.maximum(
                peaks[first : first + len(values)], values, out=peaks[first : first + len(values)]
            )
        piece.release()  # read back from a disk-backed result: let go of it again
        self.ends.append(piece.end)
        live = {
            "claim": self.token,
            "rate": piece.rate,
            "total": piece.total,
            "stems": names,
            "ends": self.ends,
            "peaks": {n: np.round(p, 4).tolist() for n, p in self.peaks.items()},
        }
        recorded = Separation.objects.filter(
            id=self.job.id, status=Status.RUNNING, worker_id=self.worker_id[:64]
        ).update(live=live, ready_seconds=piece.end / piece.rate)
        if recorded != 1:  # cancelled, deleted or taken over: nobody should read ours
            self.stopped = True
            self.storage.delete(name)


def ready_payload(job: Separation, url_name: str = "separation-piece") -> dict[str, object] | None:
    """What a running job has published, for the page (``url_name`` its piece view) and the
    API (``api:piece``); None when nothing is.

    Piece URLs name the claim, so a page still holding a dead attempt's pieces never
    mixes them with the retry's."""
    live = job.live or {}
    if job.status != Status.RUNNING or not live.get("ends"):
        return None
    token, rate = live["claim"], live["rate"]
    starts = [0, *live["ends"][:-1]]
    peaks = live.get("peaks", {})
    loudest = max((max(v, default=0.0) for v in peaks.values()), default=0.0)
    scale = 1.0 / loudest if loudest > 1e-9 else 0.0
    return {
        "claim": token,
        "rate": rate,
        "channels": CHANNELS,
        "total_seconds": live["total"] / rate,
        "ready_seconds": live["ends"][-1] / rate,
        "opens_player": (live["total"] - live["ends"][-1]) / rate > OPEN_PLAYER_LEFT_S,
        "stems": live["stems"],
        "pieces": [
            {
                "index": i,
                "start": start,
                "end": end,
                "url": reverse(url_name, args=[job.id, token, i]),
            }
            for i, (start, end) in enumerate(zip(starts, live["ends"], strict=True))
        ],
        # scaled by the loudest stem so far, as the stems' own peaks are by the loudest stem
        "peaks": {n: [round(min(1.0, x * scale), 3) for x in v] for n, v in peaks.items()},
    }


def piece_file(job: Separation, claim: str, index: int) -> str | None:
    """The storage name of piece ``index`` of claim ``claim``, if the row says it is ready."""
    live = job.live or {}
    if job.status != Status.RUNNING or live.get("claim") != claim:
        return None
    if not 0 <= index < len(live.get("ends", [])):
        return None
    return piece_name(job, claim, index)
