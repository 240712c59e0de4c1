"""The player's practice tools in a real browser, against the real server, worker and model:
pan moves the mix between the channels (measured by the page's own analysers), tempo 50 %
halves the speed of the one clock with every stem aligned (the Signalsmith worklet running under
the page's CSP), an A-B loop dragged over a waveform keeps the clock between A and B, the
keyboard sets and toggles it, and "compare with the original" swaps what is heard without moving
the position. One Spleeter run (the quick model) on a generated clip."""

from __future__ import annotations

import pytest

from demixer.testing import signals
from demixer.testing.files import write_audio

pytestmark = pytest.mark.e2e

CLIP_SECONDS = 8.0
# the clock read together with the audio context's time, every `ms`, `count` times; Chrome
# advances currentTime from the audio thread, even within a task: a read between two equal
# times is taken as one instant
CLOCK_SAMPLES = """async (p, [count, ms]) => {
  const out = [];
  const read = () => {
    for (;;) {
      const t = p.context().currentTime;
      const pos = p.position();
      if (p.context().currentTime === t) return {t, pos};
    }
  };
  for (let i = 0; i < count; i++) {
    out.push(read());
    await new Promise((r) => setTimeout(r, ms));
  }
  return out;
}"""


def practice(player) -> dict:
    return player.evaluate("p => p.practice.state()")


def levels(player, wait_ms: int = 400) -> list[float]:
    player.page.wait_for_timeout(wait_ms)
    return player.evaluate("p => p.practice.levels()")


def clock(player, count: int, ms: int) -> list[dict]:
    return player.evaluate(CLOCK_SAMPLES, [count, ms])


def sources(player) -> list[dict]:
    return player.evaluate("p => p.sources()")


def play(player) -> None:
    if not player.evaluate("p => p.playing()"):
        player.page.click("[data-action=play]")
    player.wait_for("p => p.playing()")


def pause(player) -> None:
    player.evaluate("p => p.pause()")


def test_pan_tempo_loop_and_compare(page, player, sign_up, live_app, tmp_path) -> None:
    clip = write_audio(
        tmp_path / "practice-take.wav",
        signals.mix(signals.song(CLIP_SECONDS, seed=2)),
        signals.RATE,
        "wav16",
    )
    sign_up("pia")
    page.set_input_files("input[type='file']", str(clip))
    page.check("input[name=mode][value=spleeter]")  # the quick model: one fast run
    page.locator("form:has(input[type='file']) [type='submit']").click()
    page.wait_for_selector("#player", timeout=400_000)  # a busy 2-core machine queues it
    player.wait_for(
        "p => p.practice && p.practice.state().enabled && p.practice.stretchReady()",
        timeout=180_000,
    )
    state = practice(player)
    assert state["stretch"] == "ready", state  # the worklet and its WASM loaded under the CSP
    names = page.eval_on_selector_all(".stem[data-stem]", "rows => rows.map(r => r.dataset.stem)")
    assert len(names) == 2
    duration = player.evaluate("p => p.duration()")
    assert abs(duration - CLIP_SECONDS) < 0.1

    # ---- volume as a figure, pan by the keyboard ----------------------------------------
    first = f".stem[data-stem='{names[0]}']"
    page.focus(f"{first} [data-role=volume]")
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    assert page.text_content(f"{first} [data-role=volume-value]") == "98%"
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    play(player)
    centre = levels(player)
    assert min(centre) > 1e-3, centre
    for name in names:
        page.focus(f".stem[data-stem='{name}'] [data-role=pan]")
        page.keyboard.press("Home")  # all the way left
    assert player.evaluate("p => p.practice.pans()") == dict.fromkeys(names, -1)
    assert page.text_content(f"{first} [data-role=pan-value]") == "L100"
    left, right = levels(player)
    assert left > 1e-3 and right < 0.01 * left, (left, right)
    for name in names:
        page.focus(f".stem[data-stem='{name}'] [data-role=pan]")
        page.keyboard.press("End")
    left, right = levels(player)
    assert right > 1e-3 and left < 0.01 * right, (left, right)
    for name in names:  # the custom mix is rendered with the pans that are heard
        assert page.input_value(f"#mix-form input[name=pan_{name}]") == "1.00"
    for name in names:
        page.dblclick(f".stem[data-stem='{name}'] [data-role=pan]")
    assert player.evaluate("p => p.practice.pans()") == dict.fromkeys(names, 0)
    assert page.input_value(f"#mix-form input[name=pan_{names[0]}]") == "0.00"

    # ---- tempo 50 %: the clock at half speed, every stem on it ---------------------------
    page.focus("[data-role=tempo]")
    page.keyboard.press("Home")
    state = practice(player)
    assert state["tempo"] == 0.5 and abs(state["semitones"] - 12) < 1e-9, state
    assert page.text_content("[data-role=tempo-value]") == "50 %"
    assert page.input_value("#mix-form input[name=tempo]") == "0.50"
    live = sources(player)
    assert len(live) == 2 and {s["rate"] for s in live} == {0.5}
    assert len({(s["startTime"], s["offset"]) for s in live}) == 1  # one start, one offset
    player.evaluate("p => p.seek(0.5)")
    page.wait_for_timeout(200)  # past the restart's lead, where the clock waits to start
    samples = clock(player, 2, 1500)
    speed = (samples[1]["pos"] - samples[0]["pos"]) / (samples[1]["t"] - samples[0]["t"])
    assert abs(speed - 0.5) < 0.01, samples
    assert min(levels(player)) > 1e-3  # audio comes through the stretcher
    # the playhead follows the ear: what is heard is the stretcher's latency behind the sources
    state = practice(player)
    assert 0 < state["latency"] < 0.5 and state["outputDelay"] == state["latency"], state
    pos, heard = player.evaluate("p => [p.position(), p.heard()]")
    assert abs((pos - heard) - 0.5 * state["latency"]) < 1e-3, (pos, heard, state)
    for _ in range(10):  # back to 100 %, step 5
        page.keyboard.press("ArrowRight")
    assert practice(player)["tempo"] == 1 and {s["rate"] for s in sources(player)} == {1}
    assert practice(player)["outputDelay"] == 0  # no stretcher on the path, no delay
    pos, heard = player.evaluate("p => [p.position(), p.heard()]")
    assert pos == heard
    page.focus("[data-role=pitch]")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    assert practice(player)["semitones"] == 2
    assert page.input_value("#mix-form input[name=pitch]") == "2"
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    assert practice(player)["semitones"] == 0

    # ---- an A-B loop dragged over a waveform: the clock stays between A and B -----------
    box = page.locator(f"{first} canvas.wave").bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + 0.25 * box["width"], y)
    page.mouse.down()
    page.mouse.move(box["x"] + 0.4 * box["width"], y, steps=5)
    page.mouse.move(box["x"] + 0.5 * box["width"], y, steps=5)
    page.mouse.up()
    state = practice(player)
    a, b = state["loop"]["start"], state["loop"]["end"]
    assert state["loopOn"] and abs(a - 0.25 * duration) < 0.1 and abs(b - 0.5 * duration) < 0.1
    assert page.get_attribute("#player", "data-loop") == "on"
    play(player)
    for source in sources(player):
        assert source["loop"] == pytest.approx([a, b])
    player.evaluate("(p, t) => p.seek(t)", b - 0.3)
    samples = clock(player, 40, 50)  # two seconds: across B at least once
    positions = [s["pos"] for s in samples]
    assert all(a - 1e-6 <= p <= b + 1e-6 for p in positions), positions
    wraps = [i for i in range(1, len(positions)) if positions[i] < positions[i - 1]]
    assert wraps, positions
    i = wraps[0]  # across the wrap the clock went on: B - before + after - A = elapsed time
    elapsed = samples[i]["t"] - samples[i - 1]["t"]
    assert abs((b - positions[i - 1]) + (positions[i] - a) - elapsed) < 0.01, samples[i - 1 : i + 1]

    # the keyboard: L toggles it, [ and ] set A and B at the playhead
    page.focus("body")
    page.keyboard.press("l")
    assert not practice(player)["loopOn"] and page.get_attribute("#player", "data-loop") == "off"
    assert all(s["loop"] is None for s in sources(player))
    pause(player)
    player.evaluate("p => p.seek(1)")
    page.keyboard.press("[")
    player.evaluate("p => p.seek(2.5)")
    page.keyboard.press("]")
    state = practice(player)
    assert state["loop"] == {"start": 1, "end": 2.5} and state["loopOn"], state
    page.keyboard.press("l")
    # a plain click on a waveform still seeks
    page.mouse.click(box["x"] + 0.75 * box["width"], y)
    assert abs(player.evaluate("p => p.position()") - 0.75 * duration) < 0.05
    assert practice(player)["loop"] == {"start": 1, "end": 2.5}

    # ---- compare with the original: same clock, same position ---------------------------
    play(player)
    player.evaluate("p => p.seek(1)")
    # past the restart's lead, where the position waits at 1 while the context's time runs on
    player.wait_for("p => p.position() > 1")
    before = clock(player, 1, 0)[0]
    page.click("[data-action=compare]")
    player.wait_for("p => p.practice.state().comparing")
    after = clock(player, 1, 0)[0]
    state = practice(player)
    assert state["original"] == "ready" and state["stemsGain"] == 0 and state["originalGain"] == 1
    moved = after["pos"] - before["pos"]
    assert abs(moved - (after["t"] - before["t"])) < 0.08, (before, after)
    run = state["originalRun"]
    stems_run = sources(player)[0]
    assert (run["startTime"], run["offset"]) == (stems_run["startTime"], stems_run["offset"])
    assert page.get_attribute("[data-action=compare]", "aria-pressed") == "true"
    assert min(levels(player)) > 1e-3  # the original is what is heard now
    before = clock(player, 1, 0)[0]
    page.keyboard.press("c")  # and back, by the keyboard
    after = clock(player, 1, 0)[0]
    state = practice(player)
    assert not state["comparing"] and state["stemsGain"] == 1 and state["originalGain"] == 0
    assert sources(player)[0]["startTime"] == stems_run["startTime"]  # nothing restarted
    assert abs((after["pos"] - before["pos"]) - (after["t"] - before["t"])) < 0.05
    pause(player)
    assert page.errors == []
