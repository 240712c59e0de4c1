"""A person's whole visit, in a real browser against the real server, worker and model.

sign up -> log out -> log in -> upload a generated clip -> progress reaches done without a reload
-> the player shows four stems with waveforms -> mute/solo change the Web Audio gains -> seeking
keeps every stem on one clock -> the zip holds four stems of the clip's length -> the custom mix
is the sum of the chosen stems. One model run.
"""

from __future__ import annotations

import itertools
import json
import math
import re
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from demixer.engine import audio
from demixer.testing import signals
from demixer.testing.files import write_audio

pytestmark = pytest.mark.e2e

STEMS = {"drums", "bass", "other", "vocals"}
CLIP_SECONDS = 6.0
RATE = 44100
STATUS_WATCHER = """
(() => {
  const doc = performance.timeOrigin;
  let last = null;
  const check = () => {
    const el = document.querySelector('[data-status]');
    const status = el && el.dataset.status;
    if (status && status !== last) { last = status; window.reportStatus(doc, status); }
  };
  new MutationObserver(check).observe(document, {
    subtree: true, childList: true, attributes: true, attributeFilter: ['data-status'],
  });
})();
"""
# per canvas column, how many pixels hold ink (the playhead is drawn at 0 before playing)
INK_HEIGHTS = """c => {
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  const heights = new Array(c.width).fill(0);
  for (let y = 0; y < c.height; y++)
    for (let x = 0; x < c.width; x++) if (d[(y * c.width + x) * 4 + 3] > 0) heights[x]++;
  return heights;
}"""
USER = {"username": "ada", "email": "ada@example.com", "password": "correct-horse-staple-42"}


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Six seconds of generated music as a 16-bit WAV: one model segment. (With seed 2 htdemucs
    hears the synthetic voice as vocals; with some seeds it files it under "other".)"""
    stems = signals.song(CLIP_SECONDS, seed=2)
    path = tmp_path_factory.mktemp("clip") / "e2e-groove.wav"
    sf.write(path, signals.mix(stems).T, RATE, subtype="PCM_16")
    return path


def shot(page, folder: Path, name: str) -> None:
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def decode(data: bytes) -> tuple[np.ndarray, int]:
    """Any downloaded audio file -> float32 (N, C) at its own rate, decoded by the engine."""
    with tempfile.NamedTemporaryFile() as fh:
        fh.write(data)
        fh.flush()
        decoded = audio.decode(fh.name, rate=None)
    return decoded.samples.T, decoded.rate


def bins(values: np.ndarray, count: int = 40) -> np.ndarray:
    """Means of ``count`` equal slices: compares a waveform drawn at any width with its peaks."""
    edges = np.linspace(0, len(values), count + 1).round().astype(int)
    return np.array([values[a:b].mean() for a, b in itertools.pairwise(edges)], dtype=float)


def loudest_under_bars(peaks: np.ndarray, width: int, bar_px: int = 3) -> np.ndarray:
    """Each bar of the waveform shows the loudest peak under it (a bar and its gap: ~3 px)."""
    win = max(1, math.ceil(peaks.size / width * bar_px))
    padded = np.pad(peaks, (win // 2, win - 1 - win // 2), mode="edge")
    return np.lib.stride_tricks.sliding_window_view(padded, win).max(axis=1)


def gains(player) -> dict[str, float]:
    return player.evaluate("p => p.gains()")


def row_gains(page) -> dict[str, float]:
    return page.eval_on_selector_all(
        ".stem[data-stem]",
        "rows => Object.fromEntries(rows.map(r => [r.dataset.stem, parseFloat(r.dataset.gain)]))",
    )


def press(page, stem: str, action: str) -> None:
    page.click(f".stem[data-stem='{stem}'] [data-action='{action}']")


def test_sign_up_upload_separate_play_and_download(page, player, live_app, clip, screenshot_dir):
    # ---- landing, sign up -------------------------------------------------------------------
    page.goto("/")
    shot(page, screenshot_dir, "01-landing")
    page.get_by_role("link", name=re.compile("sign up", re.I)).first.click()
    page.wait_for_selector("input[name='password2']")
    page.fill("input[name='username']", USER["username"])
    page.fill("input[name='email']", USER["email"])
    page.fill("input[name='password1']", USER["password"])
    page.fill("input[name='password2']", USER["password"])
    shot(page, screenshot_dir, "02-signup")
    page.locator("form:has(input[name='password2']) [type='submit']").click()
    page.wait_for_selector("input[type='file']")  # signed up, logged in, on the new-job page
    new_separation_url = page.url

    # ---- log out, log in ----------------------------------------------------------------------
    page.locator("#nav-account-menu").click()  # the account menu holds "Log out"
    with page.expect_navigation():
        page.get_by_role("button", name=re.compile("log out", re.I)).click()
    assert page.get_by_role("link", name=re.compile("log in", re.I)).first.is_visible()
    page.goto(new_separation_url)  # logged out: sent to the login page
    page.wait_for_selector("input[name='password']")
    assert "login" in page.url
    page.fill("input[name='username']", USER["email"])  # email works as well as username
    page.fill("input[name='password']", USER["password"])
    shot(page, screenshot_dir, "03-login")
    page.locator("form:has(input[name='password']) [type='submit']").click()
    page.wait_for_selector("input[type='file']")  # ?next= brought us back
    assert page.url == new_separation_url

    # ---- upload -----------------------------------------------------------------------------
    page.set_input_files("input[type='file']", str(clip))
    page.get_by_label(re.compile("4 stems", re.I)).check()
    shot(page, screenshot_dir, "04-new-separation")

    # ---- progress, without reloading ----------------------------------------------------------
    # Every document reports each data-status it shows, tagged with its own id: the job page must
    # show the job moving on (to done) within one document, i.e. by polling, not by reloads.
    reports: list[tuple[float, str]] = []
    page.expose_function("reportStatus", lambda doc, status: reports.append((doc, status)))
    page.add_init_script(STATUS_WATCHER)
    page.locator("form:has(input[type='file']) [type='submit']").click()
    page.wait_for_selector("#job[data-status]")
    job_url = page.url
    shot(page, screenshot_dir, "05-job-progress")
    page.wait_for_selector(
        "#player, [data-status='failed'], [data-status='cancelled']", timeout=180_000
    )
    job_doc = reports[0][0]
    job_statuses = [status for doc, status in reports if doc == job_doc]
    assert job_statuses[0] in ("queued", "running"), reports
    assert job_statuses[-1] == "done", reports

    # ---- the player -------------------------------------------------------------------------
    page.wait_for_selector("#player", timeout=60_000)
    assert page.url.split("?")[0] == job_url.split("?")[0]
    page.wait_for_function(
        "() => document.getElementById('player').dataset.state !== 'loading'", timeout=60_000
    )
    assert page.get_attribute("#player", "data-state") == "ready", page.text_content(
        ".player-status"
    )
    names = page.eval_on_selector_all(".stem[data-stem]", "rows => rows.map(r => r.dataset.stem)")
    assert set(names) == STEMS
    assert abs(player.evaluate("p => p.duration()") - CLIP_SECONDS) < 0.1

    # every waveform is drawn, and drawn from its stem's peaks
    peaks = {s["name"]: s["peaks"] for s in json.loads(page.text_content("#stem-data"))}
    for stem in STEMS:
        heights = np.array(page.eval_on_selector(f".stem[data-stem='{stem}'] canvas", INK_HEIGHTS))
        assert heights[8:].max() > 4, f"{stem}: a flat waveform"  # past the playhead
        # fill the gaps between bars; the first slice holds the playhead
        filled = np.maximum.reduce([heights, np.roll(heights, 1), np.roll(heights, -1)])
        drawn = bins(filled)[1:]
        expected = bins(loudest_under_bars(np.array(peaks[stem]), heights.size))[1:]
        assert np.corrcoef(drawn, expected)[0, 1] > 0.85, (stem, drawn, expected)

    # ---- play, mute, solo ---------------------------------------------------------------------
    assert gains(player) == dict.fromkeys(STEMS, 1)
    page.click("[data-action='play']")
    player.wait_for("p => p.playing() && p.position() > 0.3")
    assert player.evaluate("p => p.context().state") == "running"
    assert page.get_attribute("[data-action='play']", "aria-pressed") == "true"

    press(page, "vocals", "solo")
    assert gains(player) == {"vocals": 1, "drums": 0, "bass": 0, "other": 0}
    assert page.get_attribute(".stem[data-stem='vocals'] [data-action='solo']", "aria-pressed") == (
        "true"
    )
    press(page, "bass", "solo")
    assert gains(player) == {"vocals": 1, "drums": 0, "bass": 1, "other": 0}
    press(page, "vocals", "mute")  # mute wins over solo
    assert gains(player) == {"vocals": 0, "drums": 0, "bass": 1, "other": 0}
    assert row_gains(page) == gains(player)
    press(page, "vocals", "mute")
    press(page, "vocals", "solo")
    press(page, "bass", "solo")
    assert gains(player) == dict.fromkeys(STEMS, 1)
    press(page, "drums", "mute")
    page.fill(".stem[data-stem='other'] [data-role='volume']", "0.5")
    assert gains(player) == {"drums": 0, "bass": 1, "other": 0.5, "vocals": 1}
    assert row_gains(page) == gains(player)

    # ---- seeking keeps every stem on one clock ------------------------------------------------
    before = player.evaluate("p => p.context().currentTime")
    box = page.locator("[data-role='seek']").bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.5, box["y"] + box["height"] / 2)
    sources = player.evaluate("p => p.sources()")
    assert {s["stem"] for s in sources} == STEMS
    assert len({s["startTime"] for s in sources}) == 1, sources
    assert len({s["offset"] for s in sources}) == 1, sources
    assert abs(sources[0]["offset"] - CLIP_SECONDS / 2) < 0.3, sources
    assert sources[0]["startTime"] > before  # a fresh start, scheduled together
    wave = page.locator(".stem[data-stem='bass'] canvas").bounding_box()
    page.mouse.click(wave["x"] + wave["width"] * 0.25, wave["y"] + wave["height"] / 2)
    sources = player.evaluate("p => p.sources()")
    assert len({(s["startTime"], s["offset"]) for s in sources}) == 1, sources
    assert abs(sources[0]["offset"] - CLIP_SECONDS / 4) < 0.3, sources
    player.wait_for("p => p.position() > %f" % (CLIP_SECONDS / 4 + 0.2))

    # space pauses (focus on the page, not on a button) ...
    page.click("h1")
    page.keyboard.press("Space")
    assert player.evaluate("p => p.playing()") is False
    assert player.evaluate("p => p.sources()") == []
    # ... and presses a button reached with the keyboard instead of playing
    page.focus(".stem[data-stem='vocals'] [data-action='mute']")
    page.keyboard.press("Space")
    assert player.evaluate("p => p.playing()") is False
    assert gains(player)["vocals"] == 0
    page.keyboard.press("Space")
    assert gains(player)["vocals"] == 1
    shot(page, screenshot_dir, "06-result-player")
    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, screenshot_dir, "06-result-player-phone")
    page.set_viewport_size({"width": 1280, "height": 860})

    # ---- downloads: the zip ---------------------------------------------------------------
    with page.expect_download() as info:
        page.locator(".player-head a", has_text="zip").click()
    archive = zipfile.ZipFile(info.value.path())
    audio_names = [n for n in archive.namelist() if not n.endswith("/")]
    assert len(audio_names) == 4, audio_names
    stems: dict[str, np.ndarray] = {}
    for name in audio_names:
        stem = next(s for s in STEMS if s in Path(name).stem.lower())
        samples, rate = decode(archive.read(name))
        assert rate == RATE, (name, rate)
        assert abs(samples.shape[0] - CLIP_SECONDS * RATE) <= RATE * 0.01, (name, samples.shape)
        assert np.abs(samples).max() > 1e-3, f"{name} is silent"
        stems[stem] = samples
    assert set(stems) == STEMS

    # ---- downloads: the mix as set in the player (drums muted, other at half) -----------------
    assert page.input_value("#mix-form input[name='gain_drums']") == "0.000"
    page.select_option("#mix-form select[name='format']", "wav")
    with page.expect_download() as info:
        page.locator("#mix-form [type='submit']").click()
    mix, rate = decode(Path(info.value.path()).read_bytes())
    assert rate == RATE
    n = min(mix.shape[0], *(s.shape[0] for s in stems.values()))
    expected = stems["bass"][:n] + 0.5 * stems["other"][:n] + stems["vocals"][:n]
    got = mix[:n]
    # the server may rescale to avoid clipping, so compare shapes, not levels
    corr = float(np.sum(got * expected) / np.sqrt(np.sum(got**2) * np.sum(expected**2)))
    assert corr > 0.99, corr
    with_drums = expected + stems["drums"][:n]
    corr_drums = float(np.sum(got * with_drums) / np.sqrt(np.sum(got**2) * np.sum(with_drums**2)))
    assert corr_drums < corr

    # ---- the library ------------------------------------------------------------------------
    page.goto("/library/")
    page.wait_for_selector(f"text={clip.stem}")
    shot(page, screenshot_dir, "07-library")
    assert page.errors == []


def test_two_stems_from_an_mp3(page, player, sign_up, live_app, tmp_path, screenshot_dir):
    """Vocals / instrumental from an MP3 upload: the player adapts to two rows, and a stem's own
    download link gives the stem at the clip's length."""
    stems = signals.song(CLIP_SECONDS, seed=2)
    clip = write_audio(tmp_path / "karaoke-take.mp3", signals.mix(stems), RATE, "mp3")
    sign_up("grace")
    page.set_input_files("input[type='file']", str(clip))
    page.get_by_label(re.compile("2 stems", re.I)).check()
    page.locator("form:has(input[type='file']) [type='submit']").click()

    page.wait_for_selector("#player", timeout=180_000)
    page.wait_for_function("() => document.getElementById('player').dataset.state !== 'loading'")
    assert page.get_attribute("#player", "data-state") == "ready"
    labels = page.eval_on_selector_all(".stem[data-stem]", "rows => rows.map(r => r.dataset.label)")
    assert labels == ["Vocals", "Instrumental"]
    names = page.eval_on_selector_all(".stem[data-stem]", "rows => rows.map(r => r.dataset.stem)")

    page.keyboard.press("Space")  # nothing focused: space plays
    player.wait_for("p => p.playing() && p.position() > 0.2")
    press(page, "vocals", "solo")
    assert gains(player) == {"vocals": 1, names[1]: 0}
    press(page, "vocals", "solo")
    press(page, "vocals", "mute")
    assert gains(player) == {"vocals": 0, names[1]: 1}
    sources = player.evaluate("p => p.sources()")
    assert len(sources) == 2 and len({(s["startTime"], s["offset"]) for s in sources}) == 1
    shot(page, screenshot_dir, "08-result-two-stems")

    with page.expect_download() as info:
        page.click(".stem[data-stem='vocals'] .stem-downloads a:text-is('FLAC')")
    vocals, rate = decode(Path(info.value.path()).read_bytes())
    assert rate == RATE
    assert abs(vocals.shape[0] - CLIP_SECONDS * RATE) <= RATE * 0.01
    # an MP3 is rendered by the worker first: the link asks, polls, then downloads it
    with page.expect_download() as info:
        page.click(".stem[data-stem='vocals'] .stem-downloads a:text-is('MP3')")
    vocals_mp3, rate = decode(Path(info.value.path()).read_bytes())
    assert rate == RATE
    assert abs(vocals_mp3.shape[0] - CLIP_SECONDS * RATE) <= RATE * 0.06
    assert page.locator(".render-status:visible").count() == 0  # nothing left shown
    assert page.errors == []
