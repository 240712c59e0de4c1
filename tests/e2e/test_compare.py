"""Models side by side in a real browser, against the real server, worker and engine: one track
separated by Spleeter and by htdemucs is listed under the track in the library with a compare
link; on the htdemucs page (A) the vocals switch to Spleeter's (B) while playing, at the same
position on the same clock with nothing restarted; "X" hears all of B (htdemucs' drums, bass
and other fall silent, Spleeter's accompaniment joins) and back; a seek restarts both sides
together; with the bass soloed, all of B (which has no bass) is silence. The compare page and
the library pass axe at desktop and phone sizes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from demixer.testing import signals
from demixer.testing.files import write_audio
from tests.e2e.test_accessibility import AXE, SIZES, check

pytestmark = pytest.mark.e2e

CLIP_SECONDS = 8.0
# the clock read together with the audio context's time (see test_practice.py)
CLOCK = """(p) => {
  for (;;) {
    const t = p.context().currentTime;
    const pos = p.position();
    if (p.context().currentTime === t) return {t, pos};
  }
}"""
DONE = """() => {
  const el = document.getElementById('player');
  return el && el.dataset.state === 'ready' && el.dataset.live !== 'true';
}"""
B_READY = "p => p.compare && p.compare.state().status === 'ready'"
# the side gains have finished their ramp to what the choice says
SETTLED = """(p) => {
  const s = p.compare.state();
  const near = (side) => Object.entries(s.gains[side]).every(
    ([n, g]) => Math.abs(s.levels[side][n] - g) < 1e-6);
  return near('a') && near('b');
}"""


def compare(player) -> dict:
    return player.evaluate("p => p.compare.state()")


def a_sources(player) -> dict:
    return {s["stem"]: s for s in player.evaluate("p => p.sources()")}


def b_sources(player) -> dict:
    return {s["stem"]: s for s in compare(player)["sources"]}


def levels(player) -> list[float]:
    """RMS of what is heard, per channel (practice.js's analysers), once a switch is through."""
    player.page.wait_for_timeout(400)
    return player.evaluate("p => p.practice.levels()")


def wait_done(page) -> None:
    # a busy 2-core machine queues it (an 8 s clip once took 9 min under heavy load)
    page.wait_for_selector("#player", timeout=900_000)
    page.wait_for_function(DONE, timeout=900_000)


def test_two_models_side_by_side(
    browser, page, player, sign_up, live_app, tmp_path, screenshot_dir
):
    clip = write_audio(
        tmp_path / "side-by-side.wav",
        signals.mix(signals.song(CLIP_SECONDS, seed=4)),
        signals.RATE,
        "wav16",
    )
    sign_up("cora")
    page.set_input_files("input[type='file']", str(clip))
    page.check("input[name=mode][value=spleeter]")
    page.locator("form:has(input[type='file']) [type='submit']").click()
    wait_done(page)
    spleeter_id = page.url.rstrip("/").rsplit("/", 1)[1]
    # the same track again with htdemucs, from the library (no second upload)
    page.goto("/library/")
    page.locator(".separate-again summary").click()
    page.select_option(".separate-form select[name='mode']", "4")
    page.select_option(".separate-form select[name='quality']", "default")
    page.locator(".separate-form [type='submit']").click()
    page.wait_for_url(re.compile(r"/separations/[0-9a-f-]+/$"))
    htdemucs_id = page.url.rstrip("/").rsplit("/", 1)[1]
    wait_done(page)

    # ---- the library: both under the one track, labelled, a compare link ------------------
    page.goto("/library/")
    assert page.locator(".track-row").count() == 1
    links = page.locator(".separation-link")
    assert [links.nth(i).text_content() for i in range(links.count())] == [
        "htdemucs, 4 stems, best",
        "Spleeter, 2 stems",
    ]
    assert page.locator(".separation .status-done").count() == 2
    link = page.locator("[data-role=compare-link]")
    assert link.get_attribute("href") == f"/separations/{htdemucs_id}/?compare={spleeter_id}"
    axe_source = AXE.read_text()
    found: list[str] = []
    check(page, axe_source, "desktop", "library with a compare link", found)
    link.click()

    # ---- the compare page: A is htdemucs, B Spleeter, loaded at once -----------------------
    page.wait_for_function(DONE)
    player.wait_for(B_READY, timeout=60_000)
    state = compare(player)
    assert (state["a"], state["b"]) == (htdemucs_id, spleeter_id)
    assert state["label"] == "Spleeter, 2 stems" and state["whole"] == "a"
    panel = page.locator("[data-role=compare]")
    assert "htdemucs, 4 stems, best" in panel.text_content()
    assert page.input_value("[data-role=compare-with]") == spleeter_id
    assert "Only in B: Accompaniment" in page.text_content("[data-role=compare-note]")
    for name in ("drums", "bass", "other"):  # what Spleeter lacks is said on its row
        row = f".stem[data-stem={name}]"
        assert page.locator(f"{row} [data-role=stem-compare-missing]").is_visible()
        assert page.locator(f"{row} [data-side=b]").is_hidden()
    vocals_b = ".stem[data-stem=vocals] [data-side=b]"
    assert page.get_attribute(vocals_b, "aria-label") == "B: Vocals from Spleeter, 2 stems"

    # ---- play, then the vocals from B: the same run, the position goes on ------------------
    page.click("[data-action=play]")
    player.wait_for("p => p.position() > 1.5")
    run_a = a_sources(player)
    run_b = b_sources(player)
    assert set(run_b) == {"vocals", "accompaniment"}
    # B started with A's run: the same start time and offset (one clock)
    assert {(s["startTime"], s["offset"]) for s in [*run_a.values(), *run_b.values()]} == {
        (run_a["vocals"]["startTime"], run_a["vocals"]["offset"])
    }
    assert all(s["separation"] == spleeter_id for s in run_b.values())
    assert compare(player)["plays"]["vocals"] == "a"
    before = player.evaluate(CLOCK)
    page.focus(vocals_b)
    page.keyboard.press("Enter")
    player.wait_for(SETTLED)
    after = player.evaluate(CLOCK)
    state = compare(player)
    assert state["plays"] == {"drums": "a", "bass": "a", "other": "a", "vocals": "b"}
    assert state["levels"]["a"] == {"drums": 1, "bass": 1, "other": 1, "vocals": 0}, state
    assert state["levels"]["b"] == {"vocals": 1, "accompaniment": 0}, state
    assert page.get_attribute(vocals_b, "aria-pressed") == "true"
    assert page.get_attribute(".stem[data-stem=vocals]", "data-compare") == "b"
    # nothing restarted: A's and B's sources are the ones that were playing, and the position
    # moved on with the context's time
    assert a_sources(player) == run_a and b_sources(player) == run_b
    assert player.evaluate("p => p.playing()")
    assert abs((after["pos"] - before["pos"]) - (after["t"] - before["t"])) < 0.02, (before, after)

    # ---- X: all of B (A's drums, bass, other silent; B's accompaniment heard), and back ----
    page.keyboard.press("x")
    player.wait_for(SETTLED)
    state = compare(player)
    assert state["whole"] == "b" and state["base"] == "b"
    assert state["plays"] == {"drums": None, "bass": None, "other": None, "vocals": "b"}
    assert state["levels"]["a"] == {"drums": 0, "bass": 0, "other": 0, "vocals": 0}
    assert state["levels"]["b"] == {"vocals": 1, "accompaniment": 1}
    assert page.get_attribute("[data-action=compare-all][data-side=b]", "aria-pressed") == "true"
    assert page.get_attribute(".stem[data-stem=drums]", "data-compare") == "none"
    assert a_sources(player) == run_a and b_sources(player) == run_b
    page.keyboard.press("x")
    player.wait_for(SETTLED)
    state = compare(player)
    assert state["whole"] == "a" and state["levels"]["b"] == {"vocals": 0, "accompaniment": 0}
    assert state["levels"]["a"] == {"drums": 1, "bass": 1, "other": 1, "vocals": 1}

    # ---- a seek restarts both sides together ----------------------------------------------
    player.evaluate("p => p.seek(0.5)")
    run_a = a_sources(player)
    run_b = b_sources(player)
    starts = {(s["startTime"], s["offset"]) for s in [*run_a.values(), *run_b.values()]}
    assert len(starts) == 1 and next(iter(starts))[1] == 0.5, starts

    # ---- what is heard: bass soloed is A's alone; all of B (which has none) is silence ----
    player.evaluate("p => p.practice.setLoop(0.5, 7.5, true)")  # it plays on
    assert {tuple(s["loop"]) for s in b_sources(player).values()} == {(0.5, 7.5)}
    page.click(".stem[data-stem=bass] [data-action=solo]")
    assert min(levels(player)) > 1e-3
    page.click("[data-action=compare-all][data-side=b]")  # the buttons do what X does
    player.wait_for(SETTLED)
    assert compare(player)["whole"] == "b"
    # B's vocals go through the vocals row, silent as it is not soloed; B's accompaniment has
    # no row, and is silent while one is soloed
    assert compare(player)["levels"]["b"] == {"vocals": 1, "accompaniment": 0}
    assert player.evaluate("p => p.gains()")["vocals"] == 0
    assert max(levels(player)) < 1e-4
    page.click("[data-action=compare-all][data-side=a]")
    player.wait_for(SETTLED)
    assert min(levels(player)) > 1e-3
    page.click(".stem[data-stem=bass] [data-action=solo]")
    page.click("[data-action=compare-all][data-side=b]")
    player.wait_for(SETTLED)
    assert compare(player)["levels"]["b"] == {"vocals": 1, "accompaniment": 1}
    assert min(levels(player)) > 1e-3  # all of B: Spleeter's two stems
    player.evaluate("p => p.pause()")
    assert b_sources(player) == {}  # B stops with A
    page.screenshot(path=str(Path(screenshot_dir) / "compare-desktop.png"), full_page=True)
    check(page, axe_source, "desktop", "result page comparing", found)

    # ---- a phone: the panel and the rows' switches fit, axe passes ------------------------
    phone_context = browser.new_context(base_url=live_app.url, **SIZES["phone"])
    phone_context.add_cookies(page.context.cookies())
    phone = phone_context.new_page()
    phone.goto(f"/separations/{htdemucs_id}/?compare={spleeter_id}")
    phone.wait_for_function(DONE)
    phone_player = player.on(phone)
    phone_player.wait_for(B_READY, timeout=60_000)
    phone.focus(vocals_b)
    phone.keyboard.press("Enter")
    phone_player.wait_for("p => p.compare.state().chosen.vocals === 'b'")
    check(phone, axe_source, "phone", "result page comparing", found)
    phone.screenshot(path=str(Path(screenshot_dir) / "compare-phone.png"), full_page=True)
    phone.goto("/library/")
    check(phone, axe_source, "phone", "library with a compare link", found)
    phone_context.close()
    assert not found, "\n".join(found)
    assert page.errors == []
