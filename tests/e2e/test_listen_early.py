"""Listen while it separates, in a real browser against the real server, worker and model.

A 23-second clip (four htdemucs segments) is uploaded; the job page turns into the player as
soon as the first piece is ready; playback starts before the job is done; the page's own
clock passes from the first piece into the second on the exact frame it was scheduled for
(no wait, no restart); when the job is done the page swaps in the complete stems while it
plays; and the stems stored at the end are bit-identical to what was published in pieces
(the files, and the samples the page held).
"""

from __future__ import annotations

import hashlib
import re
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from demixer.separation import masters
from demixer.testing import signals

pytestmark = [pytest.mark.e2e, pytest.mark.model]

RATE = 44100
SECONDS = 23.0


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("listen") / "long-groove.wav"
    sf.write(path, signals.mix(signals.song(SECONDS, seed=4)).T, RATE, subtype="PCM_16")
    return path


def live(player) -> dict:
    return player.evaluate("p => p.live()")


class Published:
    """Every piece the status endpoint lists, fetched as the page would (same session),
    and the page's digest of the samples it holds for each."""

    def __init__(self, player, status_url: str) -> None:
        self.player = player
        self.page = player.page
        self.status_url = status_url
        self.files: dict[int, bytes] = {}
        self.page_digests: dict[int, str] = {}
        self.meta: dict | None = None
        self.status = ""

    def poll(self) -> None:
        status = self.page.request.get(self.status_url).json()
        self.status = status["status"]
        ready = status.get("ready")
        if ready:
            self.meta = ready
            for piece in ready["pieces"]:
                if piece["index"] not in self.files:
                    response = self.page.request.get(piece["url"])
                    assert response.ok, (piece, response.status)
                    self.files[piece["index"]] = response.body()
        state = live(self.player)
        if state and not state["complete"]:
            for piece in state["pieces"]:
                if piece["index"] not in self.page_digests:
                    digest = self.player.evaluate(
                        "(p, index) => p.pieceDigest(index)", piece["index"]
                    )
                    if digest:
                        self.page_digests[piece["index"]] = digest


def test_play_while_it_separates(page, player, sign_up, live_app, clip, tmp_path) -> None:
    sign_up("lin")
    page.set_input_files("input[type='file']", str(clip))
    page.get_by_label(re.compile("4 stems", re.I)).check()
    page.locator("form:has(input[type='file']) [type='submit']").click()
    page.wait_for_selector("#job[data-status]")
    job_url = page.url.split("?")[0]
    status_url = job_url + "status/"

    # ---- the player opens on the first piece, while the job runs -----------------------
    page.wait_for_selector("#player[data-live='true']", timeout=240_000)
    page.wait_for_function("() => document.getElementById('player').dataset.state === 'ready'")
    published = Published(player, status_url)
    published.poll()
    assert published.status == "running"
    state = live(player)
    assert state["contextRate"] == state["rate"] == RATE  # no resampling between pieces
    assert 0 < state["readyFrames"] < state["totalFrames"]
    assert page.is_hidden(".exports")  # downloads come once the job is done

    # two pieces in, so the join between them is the page's to make, not the worker's race
    deadline = time.monotonic() + 120
    while len(live(player)["pieces"]) < 2 and time.monotonic() < deadline:
        published.poll()
        time.sleep(0.2)
    state = live(player)
    assert len(state["pieces"]) >= 2
    assert state["readyFrames"] < state["totalFrames"], "the job finished before playback began"
    first, second = state["pieces"][0], state["pieces"][1]
    assert first["start"] == 0 and second["start"] == first["end"]

    page.click("[data-action='play']")
    boundary = first["end"] / RATE
    positions: list[float] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        published.poll()
        positions.append(player.evaluate("p => p.position()"))
        if positions[-1] > boundary + 1.0:
            break
        time.sleep(0.2)
    assert positions[-1] > boundary + 1.0, positions
    assert positions == sorted(positions), "the clock went backwards"

    # ---- the join, from the page's own schedule --------------------------------------------
    state = live(player)
    assert state["waitingAt"] is None
    runs = {entry["run"] for entry in state["scheduled"]}
    assert len(runs) == 1, "playback restarted (a wait or a late piece) instead of joining"
    by_index = {entry["index"]: entry for entry in state["scheduled"]}
    zero, one = by_index[0], by_index[1]
    assert zero["offset"] == 0 and one["offset"] == 0
    gap_frames = (one["when"] - zero["when"]) * RATE - zero["frames"]
    assert abs(gap_frames) < 1e-3, f"{gap_frames} frames between the first two pieces"
    assert one["at"] < one["when"], "the second piece was scheduled after it was due"
    assert player.evaluate("p => p.context().currentTime") > one["when"] + 0.5
    assert page.get_attribute("#player", "data-waiting") == "false"

    # ---- done: the complete stems swapped in without stopping ------------------------------
    deadline = time.monotonic() + 240
    while published.status != "done" and time.monotonic() < deadline:
        published.poll()
        if player.evaluate("p => p.position()") > SECONDS - 8:  # margin for a loaded host
            player.evaluate("p => p.seek(1)")  # keep playing while the stems are stored
        time.sleep(0.2)
    assert published.status == "done"
    page.wait_for_selector("#player[data-live='complete']", timeout=60_000)
    state = live(player)
    swap = state["swap"]
    assert swap is not None, "the swap happened while not playing"
    assert swap["scheduledAt"] < swap["when"]
    # every complete stem starts on the frame where the pieces were told to stop
    sources = player.evaluate("p => p.sources()")
    assert published.meta is not None and len(sources) == len(published.meta["stems"])
    for source in sources:
        assert source["startTime"] == swap["when"] and source["offset"] == swap["at"]
    assert player.evaluate("p => p.playing()")
    before = player.evaluate("p => p.position()")
    page.wait_for_timeout(400)
    assert player.evaluate("p => p.position()") > before
    assert page.is_visible(".exports")

    # ---- the stems stored at the end are what was published --------------------------------
    meta = published.meta
    assert meta is not None
    assert sorted(published.files) == list(range(len(meta["pieces"])))
    assert meta["pieces"][-1]["end"] == meta["total_seconds"] * RATE
    for index, data in published.files.items():  # the page played exactly these samples
        if index in published.page_digests:
            assert hashlib.sha256(data).hexdigest() == published.page_digests[index], index
    assert len(published.page_digests) >= 2
    names = meta["stems"]
    blocks = [
        np.frombuffer(published.files[piece["index"]], dtype="<f4").reshape(
            len(names), 2, piece["end"] - piece["start"]
        )
        for piece in meta["pieces"]
    ]
    joined = np.concatenate(blocks, axis=-1)
    for i, name in enumerate(names):
        response = page.request.get(f"{job_url}stems/{name}.flac")
        assert response.ok, response.status
        stored_path = tmp_path / f"{name}-stored.flac"
        stored_path.write_bytes(response.body())
        stored, _ = sf.read(stored_path, dtype="int32", always_2d=True)
        with tempfile.TemporaryDirectory() as tmp:
            ours = masters.write_master(joined[i], Path(tmp) / f"{name}.flac", RATE, {})
            expected, _ = sf.read(ours, dtype="int32", always_2d=True)
        np.testing.assert_array_equal(stored, expected, err_msg=name)
    assert page.errors == []
