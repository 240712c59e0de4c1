"""A person's whole visit, in a real browser against the real server, worker and model.

sign up -> log out -> log in -> upload a generated clip -> progress reaches done without a reload
-> the player shows four stems with waveforms -> mute/solo change the Web Audio gains -> seeking
keeps every stem on one clock -> the zip holds four stems of the clip's length -> the custom mix
is the sum of the chosen stems. One model run.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from demixer.testing import signals

pytestmark = pytest.mark.e2e

STEMS = {"drums", "bass", "other", "vocals"}
CLIP_SECONDS = 6.0
RATE = 44100
USER = {"username": "ada", "email": "ada@example.com", "password": "correct-horse-staple-42"}


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Six seconds of generated music as a 16-bit WAV: one model segment."""
    stems = signals.song(CLIP_SECONDS, seed=11)
    path = tmp_path_factory.mktemp("clip") / "e2e-groove.wav"
    sf.write(path, signals.mix(stems).T, RATE, subtype="PCM_16")
    return path


def shot(page, folder: Path, name: str) -> None:
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def decode(data: bytes) -> tuple[np.ndarray, int]:
    """Any lossless or MP3 file -> float32 (N, C), rate."""
    try:
        samples, rate = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
        return samples, rate
    except sf.LibsndfileError:
        import av

        with av.open(io.BytesIO(data)) as container:
            frames = [f.to_ndarray() for f in container.decode(audio=0)]
            rate = container.streams.audio[0].rate
        pcm = np.concatenate(frames, axis=-1)
        return pcm.T.astype(np.float32), rate


def gains(page) -> dict[str, float]:
    return page.evaluate("window.demixerPlayer.gains()")


def row_gains(page) -> dict[str, float]:
    return page.eval_on_selector_all(
        ".stem[data-stem]",
        "rows => Object.fromEntries(rows.map(r => [r.dataset.stem, parseFloat(r.dataset.gain)]))",
    )


def press(page, stem: str, action: str) -> None:
    page.click(f".stem[data-stem='{stem}'] [data-action='{action}']")


def test_sign_up_upload_separate_play_and_download(page, live_app, clip, screenshot_dir):
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
    page.get_by_role("button", name=re.compile("log out", re.I)).click()
    page.wait_for_load_state()
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
    page.locator("form:has(input[type='file']) [type='submit']").click()

    # ---- progress, without reloading ----------------------------------------------------------
    page.wait_for_selector("[data-status]")
    job_url = page.url
    page.evaluate("window.__sameDocument = true")
    shot(page, screenshot_dir, "05-job-progress")
    seen = set()
    seen.add(page.get_attribute("[data-status]", "data-status"))
    # Polling on the page moves data-status along; we only watch, never reload.
    page.wait_for_function(
        """() => {
            const el = document.querySelector('[data-status]');
            const s = el ? el.dataset.status : 'gone';
            (window.__statuses = window.__statuses || new Set()).add(s);
            return !el || ['done', 'failed', 'cancelled'].includes(s);
        }""",
        timeout=180_000,
        polling=100,
    )
    if page.evaluate("window.__sameDocument === true"):
        seen |= set(page.evaluate("Array.from(window.__statuses || [])"))
    assert "failed" not in seen and "cancelled" not in seen, seen
    assert seen & {"queued", "running", "done"}, seen

    # ---- the player -------------------------------------------------------------------------
    page.wait_for_selector("#player", timeout=60_000)
    assert page.url.split("?")[0] == job_url.split("?")[0]
    page.wait_for_function(
        "document.getElementById('player').dataset.state !== 'loading'", timeout=60_000
    )
    assert page.get_attribute("#player", "data-state") == "ready", page.text_content(
        ".player-status"
    )
    names = page.eval_on_selector_all(".stem[data-stem]", "rows => rows.map(r => r.dataset.stem)")
    assert set(names) == STEMS
    assert abs(page.evaluate("demixerPlayer.duration()") - CLIP_SECONDS) < 0.1

    # every waveform canvas has ink on it, and not just the playhead
    inked = page.eval_on_selector_all(
        ".stem canvas",
        """cs => cs.map(c => {
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            let ink = 0;
            for (let i = 3; i < d.length; i += 4) if (d[i] > 0) ink++;
            return ink / (c.width * c.height);
        })""",
    )
    assert len(inked) == 4 and all(f > 0.05 for f in inked), inked

    # ---- play, mute, solo ---------------------------------------------------------------------
    assert gains(page) == dict.fromkeys(STEMS, 1)
    page.click("[data-action='play']")
    page.wait_for_function("demixerPlayer.playing() && demixerPlayer.position() > 0.3")
    assert page.evaluate("demixerPlayer.context().state") == "running"
    assert page.get_attribute("[data-action='play']", "aria-pressed") == "true"

    press(page, "vocals", "solo")
    assert gains(page) == {"vocals": 1, "drums": 0, "bass": 0, "other": 0}
    assert page.get_attribute(".stem[data-stem='vocals'] [data-action='solo']", "aria-pressed") == (
        "true"
    )
    press(page, "bass", "solo")
    assert gains(page) == {"vocals": 1, "drums": 0, "bass": 1, "other": 0}
    press(page, "vocals", "mute")  # mute wins over solo
    assert gains(page) == {"vocals": 0, "drums": 0, "bass": 1, "other": 0}
    assert row_gains(page) == gains(page)
    press(page, "vocals", "mute")
    press(page, "vocals", "solo")
    press(page, "bass", "solo")
    assert gains(page) == dict.fromkeys(STEMS, 1)
    press(page, "drums", "mute")
    page.fill(".stem[data-stem='other'] [data-role='volume']", "0.5")
    assert gains(page) == {"drums": 0, "bass": 1, "other": 0.5, "vocals": 1}
    assert row_gains(page) == gains(page)

    # ---- seeking keeps every stem on one clock ------------------------------------------------
    before = page.evaluate("demixerPlayer.context().currentTime")
    box = page.locator("[data-role='seek']").bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.5, box["y"] + box["height"] / 2)
    sources = page.evaluate("demixerPlayer.sources()")
    assert {s["stem"] for s in sources} == STEMS
    assert len({s["startTime"] for s in sources}) == 1, sources
    assert len({s["offset"] for s in sources}) == 1, sources
    assert abs(sources[0]["offset"] - CLIP_SECONDS / 2) < 0.3, sources
    assert sources[0]["startTime"] > before  # a fresh start, scheduled together
    wave = page.locator(".stem[data-stem='bass'] canvas").bounding_box()
    page.mouse.click(wave["x"] + wave["width"] * 0.25, wave["y"] + wave["height"] / 2)
    sources = page.evaluate("demixerPlayer.sources()")
    assert len({(s["startTime"], s["offset"]) for s in sources}) == 1, sources
    assert abs(sources[0]["offset"] - CLIP_SECONDS / 4) < 0.3, sources
    page.wait_for_function("demixerPlayer.position() > %f" % (CLIP_SECONDS / 4 + 0.2))

    # space pauses (focus on the page, not on a button)
    page.click("h1")
    page.keyboard.press("Space")
    assert page.evaluate("demixerPlayer.playing()") is False
    assert page.evaluate("demixerPlayer.sources()") == []
    shot(page, screenshot_dir, "06-result-player")

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
