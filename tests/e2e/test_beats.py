"""The player's beat-following parts in a real browser, against the real server, worker and
model: the chords lane marks the chord under the playhead as playback and seeks cross the job's
chord boundaries, and the metronome schedules its clicks on the detected tempo's beats through
the player's clock, counts in before playback and before each pass of a loop, and keeps its
settings per job. What is asserted is what the page scheduled (the sources' and the clicks'
ctx times), never the timing of the audio heard. One Spleeter run on a generated song (120 BPM,
a chord a bar), shared by the tests here."""

from __future__ import annotations

import bisect
import itertools
from dataclasses import dataclass

import pytest

from demixer.testing import signals
from demixer.testing.files import write_audio

pytestmark = pytest.mark.e2e

PASSWORD = "correct-horse-staple-42"
CLIP_SECONDS = 10.0
USER = "bea"
LEAD = 0.06  # mixer.js's START_LEAD: a run starts this far ahead of the call
SIGN_UP_AND_SEPARATE_TIMEOUT_MS = 400_000  # a busy 2-core machine queues the job


@dataclass(frozen=True)
class Job:
    url: str  # the result page's path
    chords: list[dict]  # the chords JSON's list: {start, end, label}


@pytest.fixture(scope="module")
def job(browser, live_app, tmp_path_factory) -> Job:
    """A finished separation whose chords are made (the page asks for them on opening)."""
    clip = write_audio(
        tmp_path_factory.mktemp("beats") / "beats-take.wav",
        signals.mix(signals.song(CLIP_SECONDS, seed=5)),
        signals.RATE,
        "wav16",
    )
    context = browser.new_context(base_url=live_app.url)
    page = context.new_page()
    page.goto("/accounts/signup/")
    page.fill("input[name='username']", USER)
    page.fill("input[name='email']", f"{USER}@example.com")
    page.fill("input[name='password1']", PASSWORD)
    page.fill("input[name='password2']", PASSWORD)
    page.locator("form:has(input[name='password2']) [type='submit']").click()
    page.wait_for_selector("input[type='file']")
    page.set_input_files("input[type='file']", str(clip))
    page.check("input[name=mode][value=spleeter]")
    page.locator("form:has(input[type='file']) [type='submit']").click()
    page.wait_for_selector("#player", timeout=SIGN_UP_AND_SEPARATE_TIMEOUT_MS)
    page.wait_for_selector(".chord-lane .chord", state="attached", timeout=180_000)
    url = page.url.removeprefix(live_app.url)
    chords = page.evaluate(
        "async (u) => (await (await fetch(u, {headers: {Accept: 'application/json'}})).json())"
        ".chords",
        page.get_attribute("#player", "data-chords-url"),
    )
    context.close()
    return Job(url, chords)


def open_player(player, job: Job) -> None:
    page = player.page
    page.goto("/accounts/login/")
    page.fill("input[name='username']", USER)
    page.fill("input[name='password']", PASSWORD)
    page.locator("form:has(input[name='password']) [type='submit']").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    page.goto(job.url)
    player.wait_for("p => p.practice && p.practice.state().enabled", timeout=120_000)


def chord_at(chords: list[dict], seconds: float) -> int:
    """The index of the chord sounding at ``seconds`` (chords.js's chordAt), or -1."""
    i = bisect.bisect_right([c["start"] for c in chords], seconds) - 1
    return i if i >= 0 and seconds < chords[i]["end"] else -1


# every change of the lane's current chord, with the position heard when it changed
RECORD_LANE = """(p) => {
  const lane = document.querySelector(".chord-lane");
  window.laneChanges = [];
  new MutationObserver(() => window.laneChanges.push({
    label: lane.getAttribute("data-chord"), heard: p.heard(),
    playing: p.playing(),
    current: [...lane.querySelectorAll(".chord.is-current")].map((c) => c.title),
  })).observe(lane, {attributes: true, attributeFilter: ["data-chord"]});
}"""


def test_the_chords_lane_follows_the_playhead(page, player, job: Job) -> None:
    chords = job.chords
    assert len({c["label"] for c in chords}) >= 2, chords  # boundaries to cross
    open_player(player, job)
    page.wait_for_selector(".chord-lane .chord")
    # the lane holds the job's chords, in order
    titles = page.eval_on_selector_all(".chord-lane .chord", "cells => cells.map(c => c.title)")
    assert titles == [c["label"] for c in chords]
    player.evaluate(RECORD_LANE)

    # seeking (paused) into each chord marks that chord, and only it
    for chord in chords:
        if chord["end"] - chord["start"] < 0.05:
            continue
        middle = (chord["start"] + chord["end"]) / 2
        player.evaluate("(p, t) => p.seek(t)", middle)
        page.wait_for_function(
            "(label) => document.querySelector('.chord-lane').dataset.chord === label",
            arg=chord["label"],
        )
        current = page.eval_on_selector_all(
            ".chord-lane .chord.is-current", "cs => cs.map(c => c.title)"
        )
        assert current == [chord["label"]]

    # playing from the top across every boundary: each change shows the chord under the
    # playhead at that moment, and every chord is shown in turn
    page.evaluate("window.laneChanges = []")
    player.evaluate("p => p.seek(0)")
    player.wait_for("p => p.heard() === 0")
    page.click("[data-action=play]")
    player.wait_for("p => !p.playing()", timeout=60_000)  # the end
    changes = page.evaluate("window.laneChanges")
    seen = []  # the chord (index) each change showed while it played
    for change in changes:
        # an audio render quantum may pass between the frame that changed it and this read
        near = {chord_at(chords, change["heard"]), chord_at(chords, change["heard"] - 0.02)}
        labels = {chords[i]["label"] if i >= 0 else "" for i in near}  # "": past the end
        assert change["label"] in labels, (change, chords)
        assert change["current"] == ([change["label"]] if change["label"] else [])
        if change["playing"] and change["label"]:
            seen.append(max(i for i in near if i >= 0 and chords[i]["label"] == change["label"]))
    # the first chord was marked already (the seek to 0), then each later one as it came
    assert seen == sorted(set(seen)), (seen, changes)
    long_enough = [i for i, c in enumerate(chords) if i > 0 and c["end"] - c["start"] >= 0.25]
    assert set(long_enough) <= set(seen), (seen, chords)
    assert page.errors == []


def metronome(player) -> dict:
    return player.evaluate("p => p.practice.metronome.state()")


def clicks(player) -> list[dict]:
    return player.evaluate("p => p.practice.metronome.clicks()")


def sources(player) -> list[dict]:
    return player.evaluate("p => p.sources()")


def test_the_metronome_clicks_on_the_beats_and_counts_in(page, player, job: Job) -> None:
    open_player(player, job)
    player.wait_for("p => p.practice.metronome.detected().from === 'chords'")
    detected = player.evaluate("p => p.practice.metronome.detected()")
    assert detected["tempo"] == round(float(page.get_attribute("#player", "data-bpm")), 2)
    state = metronome(player)
    period = 60 / state["bpm"]
    bar = 4 * period
    # the song is at 120 BPM: the analysis' estimate is quantised (117.45 here), the chords'
    # beats make it exact
    assert state["bpm"] == detected["bpm"] and abs(state["bpm"] - 120) < 0.5, (state, detected)
    assert state["beatsPerBar"] == 4 and 0 <= state["offset"] < bar and not state["on"], state
    assert page.text_content("[data-role=metronome-grid]").endswith("(detected)")
    # the generated song changes chord on the bar: the detected grid's bars start there
    starts = detected["beats"]  # the chords' starts, the beat tracker's lag taken off
    near = [min((t - state["offset"]) % bar, bar - (t - state["offset"]) % bar) for t in starts]
    assert sorted(near)[len(near) // 2] < 0.15 * period, (starts, state)

    # ---- on with K: clicks at the grid's beats through the sources' clock -----------------
    page.focus("body")
    page.keyboard.press("k")
    assert (
        metronome(player)["on"]
        and page.get_attribute("[data-action=metronome]", "aria-pressed") == "true"
    )
    downbeat = state["offset"] + bar  # a bar's first beat, a bar in
    player.evaluate("(p, t) => p.seek(t)", downbeat)
    page.click("[data-action=play]")
    player.wait_for("p => p.practice.metronome.clicks().length >= 6")
    run = sources(player)[0]
    got = clicks(player)
    delay = player.evaluate("p => p.practice.state().outputDelay")
    for click in got:
        assert not click["countIn"]
        assert click["time"] == pytest.approx(state["offset"] + click["beat"] * period, abs=1e-6)
        expected = run["startTime"] + (click["time"] - run["offset"]) / run["rate"] + delay
        assert click["when"] == pytest.approx(expected, abs=1e-6), (click, run)
        assert click["accent"] == (click["beat"] % 4 == 0)
    assert got[0]["time"] == pytest.approx(downbeat, abs=1e-6) and got[0]["accent"]
    assert [b["beat"] - a["beat"] for a, b in itertools.pairwise(got)] == [1] * (len(got) - 1)
    player.evaluate("p => p.pause()")

    # ---- a count-in of one bar at 50 %: the start waits four beats of the slower tempo ------
    player.evaluate("p => p.practice.setTempo(0.5)")
    page.select_option("[data-role=count-in]", "1")
    state = metronome(player)
    assert state["countInBars"] == 1
    assert state["countIn"] == pytest.approx(bar / 0.5, abs=1e-9)
    player.evaluate("(p, t) => p.seek(t)", downbeat)
    asked = player.evaluate("p => p.context().currentTime")
    page.click("[data-action=play]")
    player.wait_for("p => p.sources().length > 0")
    run = sources(player)[0]
    assert run["offset"] == pytest.approx(downbeat, abs=1e-6) and run["rate"] == 0.5
    assert run["startTime"] - asked >= state["countIn"] + LEAD - 1e-6, (run, asked)
    # held at the start while it counts in (four seconds), then on from there
    held = player.evaluate(
        "(p) => { const t = p.context().currentTime; return {t, pos: p.position()}; }"
    )
    if held["t"] < run["startTime"]:
        assert held["pos"] == pytest.approx(downbeat, abs=1e-9), (held, run)
    else:
        assert held["pos"] >= downbeat, (held, run)
    player.wait_for("p => p.practice.metronome.clicks().length >= 5")
    got = clicks(player)
    delay = player.evaluate("p => p.practice.state().outputDelay")
    counted = [c for c in got if c["countIn"]]
    assert len(counted) == 4 and counted[0]["accent"] and not any(c["accent"] for c in counted[1:])
    for k, click in enumerate(counted):  # a beat of the slower tempo apart, up to the start
        assert click["when"] == pytest.approx(
            run["startTime"] + delay - (4 - k) * period / 0.5, abs=1e-6
        )
    first = next(c for c in got if not c["countIn"])
    assert first["when"] == pytest.approx(run["startTime"] + delay, abs=1e-6) and first["accent"]
    player.evaluate("p => p.pause()")
    player.evaluate("p => p.practice.setTempo(1)")

    # ---- a loop counted in before every pass: each pass is a run of its own -----------------
    player.evaluate("(p, [a, b]) => p.practice.setLoop(a, b, true)", [downbeat, downbeat + 1.5])
    player.evaluate("(p, t) => p.seek(t)", downbeat)
    page.click("[data-action=play]")
    player.wait_for("p => p.sources().length > 0")
    first_pass = sources(player)[0]
    assert first_pass["loop"] is None  # not looped natively: the mixer restarts it
    player.wait_for(
        "(p, t) => p.sources().length > 0 && p.sources()[0].startTime > t",
        first_pass["startTime"],
        timeout=30_000,
    )
    second_pass = sources(player)[0]
    pass_end = first_pass["startTime"] + 1.5
    assert second_pass["offset"] == pytest.approx(downbeat, abs=1e-6)
    assert second_pass["startTime"] >= pass_end + bar + LEAD - 1e-6, (first_pass, second_pass)
    player.wait_for(  # scheduled a little ahead: the last one a beat before the pass
        "p => p.practice.metronome.clicks().some((c) => !c.countIn)"
    )
    counted = [c for c in clicks(player) if c["countIn"]]
    assert len(counted) == 4 and counted[0]["when"] >= pass_end, counted
    player.evaluate("p => p.pause()")

    # ---- aligned by hand, and kept for this job ----------------------------------------------
    page.click("summary:has-text('Align')")
    page.fill("[data-role=bpm]", "100")
    page.press("[data-role=bpm]", "Enter")
    page.click("[data-action=beat-later]")
    state = metronome(player)
    offset = state["offset"]
    assert state["bpm"] == 100
    assert not page.text_content("[data-role=metronome-grid]").endswith("(detected)")
    page.reload()
    player.wait_for("p => p.practice.state().enabled")
    state = metronome(player)
    assert (state["on"], state["countInBars"], state["bpm"]) == (True, 1, 100), state
    assert state["offset"] == pytest.approx(offset, abs=1e-9)
    player.wait_for("p => p.practice.metronome.detected().from === 'chords'")
    page.click("summary:has-text('Align')")
    page.click("[data-action=metronome-reset]")
    assert metronome(player)["bpm"] == detected["bpm"]
    assert page.text_content("[data-role=metronome-grid]").endswith("(detected)")
    assert page.errors == []
