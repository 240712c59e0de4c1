"""The result page's download settings and the finish notice, in a real browser against the real
server, worker and model. One model run.

- The job page of a tab left in the background: "Notify me when it's done" asks for permission
  on its click only; when the job finishes while the tab is hidden the title says so and one
  notification is shown; when the tab is seen again the title comes back and the page turns into
  the result.
- The download settings (format, sample rate, bit depth) change the zip's, the instrumental's and
  each stem's links, the requests the page makes and the files it gets (read back: format, rate,
  subtype); the bit depth is disabled for MP3, and the mix posts the same settings.
- The player's follower of a running job (stream.js) gives the same notice when its job fails
  while the tab is hidden (the status endpoint answered by the test).
"""

from __future__ import annotations

import io
import re
import tempfile
import zipfile
from pathlib import Path

import pytest
import soundfile as sf

from demixer.engine import audio
from demixer.testing import signals

pytestmark = [pytest.mark.e2e, pytest.mark.model]

RATE = 44100
FINISH = 600_000  # ms: the worker's warm-up and one separation on a loaded 2-core host
# The tab's visibility as the test says (sessionStorage, so it holds across the job page's
# reload), and every notification the page makes, recorded before the real one is made.
BROWSER_STAND_INS = """
(() => {
  const hidden = () => sessionStorage.getItem("e2e-hidden") === "1";
  Object.defineProperty(document, "hidden", { configurable: true, get: hidden });
  Object.defineProperty(document, "visibilityState", {
    configurable: true, get: () => (hidden() ? "hidden" : "visible"),
  });
  window.e2eNotes = [];
  window.e2ePermissionAsks = 0;
  const Real = window.Notification;
  if (!Real) return;
  class Recorded extends Real {
    constructor(title, options) {
      window.e2eNotes.push({ title: title, body: (options || {}).body || "" });
      super(title, options);
    }
    static get permission() { return Real.permission; }
    static requestPermission(callback) {
      window.e2ePermissionAsks += 1;
      return Real.requestPermission(callback);
    }
  }
  window.Notification = Recorded;
})();
"""
SEEN_AGAIN = """() => {
  sessionStorage.removeItem("e2e-hidden");
  document.dispatchEvent(new Event("visibilitychange"));
  return document.title;
}"""


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four seconds of generated music: one model segment, short enough that the job page
    waits for the complete stems (it opens the player early only for longer songs)."""
    path = tmp_path_factory.mktemp("settings") / "settings-groove.wav"
    sf.write(path, signals.mix(signals.song(4.0, seed=5)).T, RATE, subtype="PCM_16")
    return path


def href(page, selector: str) -> str:
    return page.get_attribute(selector, "href") or ""


def downloaded(page, selector: str) -> bytes:
    """Click a download link (rendered first: the page asks, polls, then downloads)."""
    with page.expect_download(timeout=180_000) as info:
        page.click(selector)
    return Path(info.value.path()).read_bytes()


def test_download_settings_and_the_finish_notice(page, sign_up, live_app, clip) -> None:
    page.context.grant_permissions(["notifications"], origin=live_app.url)
    page.add_init_script(BROWSER_STAND_INS)
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))

    sign_up("nina")
    page.set_input_files("input[type='file']", str(clip))
    page.get_by_label(re.compile("4 stems", re.I)).check()
    page.evaluate("sessionStorage.setItem('e2e-hidden', '1')")  # the person leaves the tab
    page.locator("form:has(input[type='file']) [type='submit']").click()

    # ---- the job page: opt in, then the job finishes while the tab is hidden ---------------
    page.wait_for_selector("#job[data-status]")
    job_url = page.url
    assert page.evaluate("document.hidden") is True
    notify = page.get_by_role("button", name="Notify me when it's done")
    assert page.evaluate("e2ePermissionAsks") == 0  # never asked without a click
    notify.click()
    page.wait_for_selector("[data-finish-notify][aria-pressed='true']")
    assert page.evaluate("e2ePermissionAsks") == 1
    title = page.text_content("h1").strip()
    before = page.title()
    assert before.endswith(" · demixer") and not before.startswith("✓")

    page.wait_for_function("() => document.title.startsWith('✓ Done')", timeout=FINISH)
    assert page.title() == f"✓ Done — {title} · demixer"
    assert page.get_attribute("#job", "data-status") == "done"
    assert page.url == job_url and page.query_selector("#player") is None  # waits to be seen
    assert page.evaluate("e2eNotes") == [{"title": "Your stems are ready", "body": title}]

    with page.expect_navigation():  # seen again: the title comes back, the result is drawn
        restored = page.evaluate(SEEN_AGAIN)
    assert restored == before
    page.wait_for_selector("#player")
    page.wait_for_function("() => document.getElementById('player').dataset.state !== 'loading'")
    assert not page.title().startswith("✓") and page.evaluate("e2eNotes") == []

    # ---- the settings: the defaults are the masters, the zip a plain link -----------------
    zip_url = job_url + "stems.zip"
    for link in (".player-zip", ".exports a[data-download='zip']"):
        assert live_app.url + href(page, link) == zip_url
        assert page.get_attribute(link, "download") is not None
        assert page.get_attribute(link, "data-render") is None
    assert page.input_value("#download-format") == "flac"
    assert page.input_value("#download-rate") == "44100"
    assert page.input_value("#download-bit-depth") == "24"

    page.select_option("#download-format", "wav")
    page.select_option("#download-rate", "48000")
    page.select_option("#download-bit-depth", "16")
    assert href(page, ".player-zip").endswith("stems.zip?format=wav&rate=48000&bit_depth=16")
    assert page.get_attribute(".player-zip", "data-render") == "the zip"
    instrumental = ".exports a[data-download='instrumental']"
    assert href(page, instrumental).endswith("/instrumental.wav?rate=48000&bit_depth=16")
    vocals = ".stem[data-stem='vocals'] .stem-downloads"
    assert href(page, f"{vocals} a:text-is('MP3')").endswith("/vocals.mp3?rate=48000")
    assert href(page, f"{vocals} a:text-is('FLAC')").endswith(
        "/vocals.flac?rate=48000&bit_depth=16"
    )
    assert page.get_attribute(f"{vocals} a:text-is('FLAC')", "data-render") is not None

    # the instrumental as set: asked for with those settings, a 48 kHz 16-bit WAV
    data = downloaded(page, instrumental)
    assert any(re.search(r"/instrumental\.wav\?rate=48000&bit_depth=16$", u) for u in requests)
    info = sf.info(io.BytesIO(data))
    assert (info.format, info.samplerate, info.subtype) == ("WAV", 48000, "PCM_16")

    # the zip as set: four 48 kHz 16-bit WAVs
    archive = zipfile.ZipFile(io.BytesIO(downloaded(page, ".exports a[data-download='zip']")))
    members = [name for name in archive.namelist() if not name.endswith("/")]
    assert len(members) == 4 and all(name.endswith(".wav") for name in members), members
    for name in members:
        info = sf.info(io.BytesIO(archive.read(name)))
        assert (info.format, info.samplerate, info.subtype) == ("WAV", 48000, "PCM_16"), name
    assert any("stems.zip?format=wav&rate=48000&bit_depth=16" in u for u in requests)

    # MP3 has no bit depth: its choice is disabled, and neither the links nor the mix send it
    page.select_option("#download-format", "mp3")
    assert page.is_disabled("#download-bit-depth")
    assert page.is_disabled("#download-rate option[value='96000']")  # MPEG audio stops at 48 kHz
    assert href(page, ".player-zip").endswith("stems.zip?format=mp3&rate=48000")
    with page.expect_request(lambda r: r.method == "POST" and "/mix/" in r.url) as posted:
        data = downloaded(page, "#mix-form [type='submit']")
    form = posted.value.post_data or ""
    assert 'name="rate"\r\n\r\n48000' in form and "bit_depth" not in form
    with tempfile.NamedTemporaryFile(suffix=".mp3") as fh:
        fh.write(data)
        fh.flush()
        assert audio.decode(fh.name, rate=None).rate == 48000

    # ---- the player's follower of a running job gives the same notice (stream.js) ----------
    page.route(
        "**/e2e-status/",
        lambda route: route.fulfill(
            json={"status": "failed", "error": "the worker stopped"}, status=200
        ),
    )
    page.evaluate("sessionStorage.setItem('e2e-hidden', '1')")
    shown = page.title()
    page.evaluate(
        """async () => {
        const { followJob } = await import("/static/player/stream.js");
        const mixer = { claim: "c", restart() {}, addPiece() {} };
        const hooks = { progress() {}, peaks() {}, done() {}, failed() {},
          stopped() { window.e2eStopped = true; } };
        followJob(location.pathname + "e2e-status/", mixer, hooks)
          .start({ claim: "c", pieces: [], peaks: {} });
      }"""
    )
    page.wait_for_function("() => window.e2eStopped === true")
    assert page.title() == f"Failed — {title} · demixer"
    assert page.evaluate(SEEN_AGAIN) == shown
    assert page.errors == []
