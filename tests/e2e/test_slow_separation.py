"""The player against a stand-in engine, in a real browser against the real server and worker:
listening while it separates when separation is slower than real time, cancelling a running job
from the live player, rendered downloads' word beside the control, zoom and markers.

The worker's engine is a slow stand-in (``slow_engine/sitecustomize.py``: the stand-in's stems,
``PIECE_DELAY_S`` a piece), so a 30-second song separates at about 0.6x real time, as a loaded
host does with the real model. The buffering rule must then hold playback back with a word on
when it will play through (and the choice to start anyway), start once, and never stop again;
the job's progress stays on the page; Cancel (with its confirm step) stops the job.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import pytest
import soundfile as sf

from demixer.testing import signals

pytestmark = [pytest.mark.e2e]

RATE = 44100
SECONDS = 30.0  # six pieces of five seconds
PIECE_DELAY_S = 8.0  # a piece: so about 0.6x real time
HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def live_app(
    serve_live_app: Callable[..., AbstractContextManager[object]],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[object]:
    path = os.pathsep.join([str(HERE / "slow_engine"), os.environ.get("PYTHONPATH", "")])
    with serve_live_app(
        tmp_path_factory.mktemp("demixer-e2e-slow"),
        HERE.parents[1] / "test-artifacts" / "e2e-slow-server.log",
        {"PYTHONPATH": path, "DEMIXER_E2E_PIECE_DELAY_S": str(PIECE_DELAY_S)},
    ) as app:
        yield app


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("slow") / "slow-groove.wav"
    sf.write(path, signals.mix(signals.song(SECONDS, seed=6)).T, RATE, subtype="PCM_16")
    return path


def submit(page, clip: Path) -> None:
    """Upload ``clip`` for four stems, as a person does."""
    page.set_input_files("input[type='file']", str(clip))
    page.get_by_label(re.compile("4 stems", re.I)).check()
    page.locator("form:has(input[type='file']) [type='submit']").click()


def upload(page, clip: Path) -> str:
    """Upload ``clip``; once the live player opens, the job's URL."""
    submit(page, clip)
    page.wait_for_selector("#job[data-status]")
    job_url = page.url.split("?")[0]
    page.wait_for_selector("#player[data-live='true']", timeout=180_000)
    page.wait_for_function("() => document.getElementById('player').dataset.state === 'ready'")
    return job_url


def live(player) -> dict:
    return player.evaluate("p => p.live()")


def test_slower_than_real_time_waits_then_plays_through(page, player, sign_up, clip) -> None:
    sign_up("bea")
    job_url = upload(page, clip)

    # the job's progress stays on the live player
    assert page.is_visible("[data-role='job-progress']")
    page.wait_for_function(
        "() => /^\\d+%$/.test(document.querySelector('[data-role=job-percent]').textContent)"
    )
    # the rule has a rate to go by (the job's own estimate, then the pieces seen)
    player.wait_for("p => p.buffering(0).known", timeout=60_000)
    assert player.evaluate("p => p.buffering(0).wait") > 0, "separation was not slow"

    page.click("[data-action='play']")
    page.wait_for_selector("[data-role='buffering']:not([hidden])")
    words = page.text_content("[data-role='buffering-text']") or ""
    assert re.match(r"Plays through from 0:00 in about \d+ s", words), words
    assert page.is_visible("[data-action='start-anyway']")
    assert page.get_attribute("#player", "data-waiting") == "true"
    assert live(player)["runs"] == []  # held back: nothing started yet

    # it starts by itself, once, and plays to the end (or the swap) without stopping
    player.wait_for("p => p.live().runs.length > 0", timeout=120_000)
    assert page.is_hidden("[data-action='start-anyway']")
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        state = live(player)
        if state["stalls"]:
            log = player.evaluate("p => p.bufferingLog()")
            pytest.fail(f"playback stopped: {json.dumps(state)}\n{json.dumps(log)}")
        if state["complete"] or not player.evaluate("p => p.playing()"):
            break
        time.sleep(0.3)
    state = live(player)
    assert state["stalls"] == 0
    assert len(state["runs"]) == 1 and not state["runs"][0]["forced"], state["runs"]
    assert {entry["run"] for entry in state["scheduled"]} == {state["scheduled"][0]["run"]}
    page.wait_for_selector("#player[data-live='complete']", timeout=120_000)
    assert page.is_hidden("[data-role='live-job']")
    assert page.url.split("?")[0] == job_url
    assert page.errors == []


def test_cancel_a_running_job_from_the_live_player(page, sign_up, clip) -> None:
    sign_up("cai")
    job_url = upload(page, clip)
    status = page.request.get(job_url + "status/").json()
    assert status["status"] == "running"

    page.click("[data-action='cancel']")  # first the question, then the answer
    assert page.is_visible("[data-action='cancel-confirm']")
    assert page.request.get(job_url + "status/").json()["status"] == "running"
    with page.expect_navigation():
        page.click("[data-action='cancel-confirm']")
    page.wait_for_selector("#job[data-status='cancelled']")
    assert page.url.split("?")[0] == job_url
    assert "Cancelled" in (page.text_content("#job-status") or "")
    assert page.request.get(job_url + "status/").json()["status"] == "cancelled"
    assert page.errors == []


# every text a render's status line shows, with where it is against the control it follows
WATCH_RENDER_STATUS = """() => {
  window.e2eRenderStatus = [];
  new MutationObserver(() => {
    document.querySelectorAll('.render-status').forEach((el) => {
      const control = el.previousElementSibling;
      const a = el.getBoundingClientRect();
      const b = control.getBoundingClientRect();
      const seen = window.e2eRenderStatus;
      if (el.hidden || (seen.length && seen[seen.length - 1].text === el.textContent)) return;
      seen.push({
        text: el.textContent,
        control: control.getAttribute('aria-label') || control.textContent.trim(),
        dy: Math.abs((a.top + a.bottom) / 2 - (b.top + b.bottom) / 2),
        dx: a.left - b.right,
      });
    });
  }).observe(document.body, { subtree: true, childList: true, characterData: true,
                              attributes: true });
}"""


def test_a_rendered_download_says_so_beside_the_control_clicked(
    page, sign_up, tmp_path: Path
) -> None:
    short = tmp_path / "short-groove.wav"
    sf.write(short, signals.mix(signals.song(4.0, seed=7)).T, RATE, subtype="PCM_16")
    sign_up("dev")
    submit(page, short)
    page.wait_for_selector("#player:not([data-live])", timeout=180_000)
    page.evaluate(WATCH_RENDER_STATUS)

    link = ".stem[data-stem='bass'] .stem-downloads a[data-format='mp3']"
    with page.expect_download(timeout=120_000):
        page.click(link)
    seen = page.evaluate("window.e2eRenderStatus")
    assert seen, "no word while the file was prepared"
    first = seen[0]
    assert first["text"].startswith("Preparing Bass (MP3)…"), seen
    assert first["control"] == "Download Bass as MP3"
    assert first["dy"] < 24 and 0 <= first["dx"] < 40, first  # on the link's line, just after
    page.wait_for_function(
        f"() => document.querySelector(\"{link}\").dataset.renderState === 'done'"
    )
    assert page.locator(".render-status:visible").count() == 0  # gone once it downloads
    assert page.errors == []


def test_waveform_zoom_and_markers(page, player, sign_up, tmp_path: Path) -> None:
    short = tmp_path / "marked-groove.wav"
    sf.write(short, signals.mix(signals.song(8.0, seed=3)).T, RATE, subtype="PCM_16")
    sign_up("eve")
    submit(page, short)
    page.wait_for_selector("#player:not([data-live])", timeout=180_000)
    page.wait_for_selector("[data-action='marker-add']:not([disabled])")
    duration = player.evaluate("p => p.duration()")
    assert player.evaluate("p => p.view()") == {"start": 0, "end": duration}

    # zoom: the buttons around the playhead, Ctrl + wheel (a pinch) around the pointer
    player.evaluate("p => p.seek(4)")
    page.click("[data-action='zoom-in']")
    view = player.evaluate("p => p.view()")
    assert abs((view["end"] - view["start"]) - duration / 2) < 1e-6 and view["start"] <= 4
    wave = page.locator(".stem[data-stem='drums'] canvas")
    box = wave.bounding_box()
    assert box is not None
    x, y = box["x"] + box["width"] * 0.75, box["y"] + box["height"] / 2
    under = view["start"] + 0.75 * (view["end"] - view["start"])
    page.mouse.move(x, y)
    page.keyboard.down("Control")
    page.mouse.wheel(0, -100)
    page.keyboard.up("Control")
    player.wait_for(
        "(p, span) => p.view().end - p.view().start < span", (view["end"] - view["start"]) * 0.9
    )
    zoomed = player.evaluate("p => p.view()")
    assert abs(zoomed["start"] + 0.75 * (zoomed["end"] - zoomed["start"]) - under) < 0.01
    # a click on the zoomed waveform seeks to the time drawn there
    page.mouse.click(box["x"] + box["width"] / 2, y)
    middle = (zoomed["start"] + zoomed["end"]) / 2
    assert abs(player.evaluate("p => p.position()") - middle) < 0.05
    page.click("[data-action='zoom-fit']")
    assert player.evaluate("p => p.view()") == {"start": 0, "end": duration}

    # markers: name a point (M, or the button), jump to it, loop between two
    player.evaluate("p => p.seek(2)")
    page.locator("body").press("m")
    page.keyboard.type("Verse")
    page.keyboard.press("Tab")
    player.evaluate("p => p.seek(5)")
    page.click("[data-action='marker-add']")
    page.keyboard.type("Chorus")
    page.keyboard.press("Tab")
    marks = player.evaluate("p => p.markers()")
    assert [(m["time"], m["name"]) for m in marks] == [(2, "Verse"), (5, "Chorus")]
    page.get_by_role("button", name=re.compile("^Go to Verse")).click()
    assert player.evaluate("p => p.position()") == 2
    page.get_by_role("button", name="Loop from Verse to the next marker").click()
    state = player.evaluate("p => p.practice.state()")
    assert state["loop"] == {"start": 2, "end": 5} and state["loopOn"]
    page.reload()  # kept in the browser
    page.wait_for_selector("[data-action='marker-add']:not([disabled])")
    assert [m["name"] for m in player.evaluate("p => p.markers()")] == ["Verse", "Chorus"]
    page.get_by_role("button", name="Remove Chorus").click()
    assert [m["name"] for m in player.evaluate("p => p.markers()")] == ["Verse"]
    assert page.errors == []
