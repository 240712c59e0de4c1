"""The pages on a phone (390 x 844, touch) in a real browser: every control of the library, the
upload page and the player lies within the screen's width (measured, not eyeballed), the header
takes at most two lines, and the keyboard hints are left out where there is no keyboard.

One real separation (the real server, worker and model) gives the library and the player their
content; a title and an artist long enough to be a real song's stress the layout.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from demixer.testing import signals
from demixer.testing.files import write_audio

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

pytestmark = pytest.mark.e2e

PASSWORD = "correct-horse-staple-42"
PHONE = {"width": 390, "height": 844}
TAGS = {
    "artist": "The Extraordinarily Long-Named Orchestra",
    "title": "A Song Whose Title Goes On And On Forever",
}
# every control a person can press or type in (visible ones: zero-size means not shown), each
# with its box; and how wide the document is against the screen
CONTROLS = """() => {
  const width = window.innerWidth;
  const controls = [...document.querySelectorAll(
    "a, button, input, select, textarea, summary, label, canvas, [role=button]"
  )].filter((el) => !el.closest(".skip-link, .visually-hidden")).map((el) => {
    const box = el.getBoundingClientRect();
    return {
      what: el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
        (el.className && typeof el.className === "string" ? "." + el.className.trim() : "") +
        " " + (el.textContent || el.getAttribute("aria-label") || "").trim().slice(0, 30),
      left: box.left, right: box.right, width: box.width, height: box.height,
    };
  }).filter((c) => c.width > 0 && c.height > 0);
  return {width, scroll: document.documentElement.scrollWidth, controls};
}"""
# the header's items grouped into lines by where they sit vertically
HEADER_LINES = """() => {
  const items = [...document.querySelectorAll(".site-header .brand, .site-header .nav-links > li")];
  const tops = items.map((el) => el.getBoundingClientRect()).filter((b) => b.height > 0)
    .map((b) => Math.round(b.top + b.height / 2));
  const lines = [];
  for (const top of tops.sort((a, b) => a - b)) {
    if (!lines.length || top - lines[lines.length - 1] > 12) lines.push(top);
  }
  return lines.length;
}"""


def wait_until_done(page, seconds: float = 300) -> None:
    """Until the job whose page this is has finished (its status JSON, polled each second).

    Polled through the browser context's request API, not ``page.evaluate``: the job page reloads
    itself into the result page when the job ends, which would destroy an evaluation's context."""
    status_url = page.url.split("?")[0].split("#")[0] + "status/"
    deadline = time.monotonic() + seconds
    while (status := page.request.get(status_url).json()["status"]) != "done":
        assert status in ("queued", "running") and time.monotonic() < deadline, status
        page.wait_for_timeout(1000)


def misfits(page, name: str, folder: Path) -> list[str]:
    """What does not fit a phone on this page (nothing, if all is well), then a screenshot.
    Measured before the screenshot: Chromium's full-page capture drops the touch emulation
    for its duration, so the picture shows the keyboard hints the page itself hides."""
    fit = page.evaluate(CONTROLS)
    found = []
    if fit["width"] != PHONE["width"]:
        found.append(f"{name}: laid out {fit['width']} px wide, not the phone's {PHONE['width']}")
    outside = [c for c in fit["controls"] if c["left"] < -0.5 or c["right"] > fit["width"] + 0.5]
    if outside:
        found.append(f"{name}: controls past the screen's edges: {outside}")
    if fit["scroll"] > fit["width"]:
        found.append(f"{name}: the page scrolls sideways ({fit['scroll']} px)")
    assert len(fit["controls"]) > 5  # the measure saw the page's controls
    if (lines := page.evaluate(HEADER_LINES)) > 1:
        found.append(f"{name}: the header takes {lines} lines")
    page.screenshot(path=str(folder / f"phone-{name}.png"), full_page=True)
    return found


@pytest.fixture
def phone(browser, live_app, request: pytest.FixtureRequest) -> Iterator[object]:
    """A phone's browser: touch, mobile viewport, a high-density screen. As for the desktop
    ``page``, anything written to the console (a refused script or style is) fails the test."""
    context = browser.new_context(
        base_url=live_app.url,
        viewport=PHONE,
        device_scale_factor=3,
        is_mobile=True,
        has_touch=True,
    )
    context.set_default_timeout(30_000)
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda msg: console.append(f"{msg.type}: {msg.text} ({page.url})"))
    page.errors = []
    page.on("pageerror", lambda err: page.errors.append(str(err)))
    yield page
    if getattr(request.node, "call_failed", False):
        page.screenshot(path=str(ARTIFACTS / f"FAILED-phone-{request.node.name}.png"))
    context.close()
    assert console == [], console


def test_every_control_fits_a_phone(phone, page, tmp_path, screenshot_dir) -> None:
    clip = write_audio(
        tmp_path / "mixture.flac",
        signals.mix(signals.song(4.6, seed=9)),  # 0:04 by the player's clock, 0:05 rounded
        signals.RATE,
        "flac",
        tags=TAGS,
    )
    # sign up on the phone itself
    phone.goto("/accounts/signup/")
    problems = misfits(phone, "signup", screenshot_dir)
    phone.fill("input[name='username']", "penelope-with-a-long-name")
    phone.fill("input[name='email']", "penelope@example.com")
    phone.fill("input[name='password1']", PASSWORD)
    phone.fill("input[name='password2']", PASSWORD)
    phone.locator("form:has(input[name='password2']) [type='submit']").click()

    phone.wait_for_url(re.compile(r"/separations/new/"))
    problems += misfits(phone, "upload", screenshot_dir)
    phone.set_input_files("input[type='file']", str(clip))
    phone.get_by_label(re.compile("4 stems", re.I)).check()
    phone.locator("form:has(input[type='file']) [type='submit']").click()
    # the finished result's page (not the player that plays while it separates)
    phone.wait_for_url(re.compile(r"/separations/[0-9a-f-]{36}/$"))
    wait_until_done(phone)
    phone.reload()
    phone.wait_for_selector("#player", timeout=30_000)
    phone.wait_for_function("() => document.getElementById('player').dataset.state !== 'loading'")
    assert phone.get_attribute("#player", "data-state") == "ready"
    # the title comes from the file's tags, not its name ("mixture")
    assert phone.text_content("#player-title").strip() == f"{TAGS['artist']} – {TAGS['title']}"
    # no keyboard on a phone: its shortcuts are not offered
    if phone.is_visible(".player-hint"):
        problems.append("player: the keyboard hints show on a touch screen")
    problems += misfits(phone, "player", screenshot_dir)
    phone.locator(".metronome-align summary").click()  # the metronome's tools unfolded
    problems += misfits(phone, "player-metronome", screenshot_dir)
    shown = phone.text_content("[data-role=duration]")
    # play/pause and the time stay in reach when the stems and downloads scroll by
    top = phone.evaluate("document.querySelector('.transport').getBoundingClientRect().top")
    phone.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    assert phone.evaluate("window.scrollY") > top, "the page is too short to scroll the player"
    for control in ("[data-action='play']", "[data-role='current']"):
        box = phone.locator(control).bounding_box()
        assert box is not None and box["y"] >= 0, control
        assert box["y"] + box["height"] <= phone.viewport_size["height"], control

    phone.goto("/library/")
    phone.locator(".separate-again summary").click()  # its selects and button count too
    problems += misfits(phone, "library", screenshot_dir)
    assert problems == [], "\n".join(problems)
    # one rounding rule: the library says what the player's clock says
    assert shown == "0:04" and phone.text_content(".track-meta").startswith(f"{shown} ·")
    assert phone.is_visible(".track-row .actions a:text-is('Rename')")
    assert phone.is_visible(".track-row .actions a:text-is('Delete')")
    assert phone.errors == []

    # the same result on a desktop (a mouse and a keyboard) still shows the hints
    player_url = phone.locator(".separation-link").first.get_attribute("href")
    page.context.add_cookies(phone.context.cookies())
    page.goto(player_url)
    page.wait_for_selector("#player")
    assert page.is_visible(".player-hint")
