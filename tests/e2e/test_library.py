"""The library in a real browser: a track separated twice with other options keeps both results
reachable, "separate again" needs no second upload, and the page fits a phone's width."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from demixer.testing import signals
from demixer.testing.files import write_audio

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}
# elements reaching past the viewport's edges (but the skip link and screen-reader text,
# which are off-screen on purpose)
OFF_SCREEN = """() => {
  const width = document.documentElement.clientWidth;
  const off = [...document.querySelectorAll("body *")].filter((el) => {
    if (el.closest(".skip-link, .visually-hidden")) return false;
    const box = el.getBoundingClientRect();
    return box.width > 0 && (box.right > width + 0.5 || box.left < -0.5);
  }).map((el) => el.tagName + "." + el.className);
  return {scroll: document.documentElement.scrollWidth, width, off};
}"""


def wait_for_player(page, stems: int) -> None:
    page.wait_for_selector("#player", timeout=180_000)
    page.wait_for_function("() => document.getElementById('player').dataset.state !== 'loading'")
    assert page.get_attribute("#player", "data-state") == "ready"
    assert page.locator(".stem[data-stem]").count() == stems


def separate_again(page, mode: str, quality: str) -> None:
    page.goto("/library/")
    page.locator(".separate-again summary").click()
    page.select_option(".separate-form select[name='mode']", mode)
    page.select_option(".separate-form select[name='quality']", quality)
    page.locator(".separate-form [type='submit']").click()


def test_both_results_stay_reachable_and_fit_a_phone(
    page, sign_up, live_app, tmp_path, screenshot_dir
):
    clip = write_audio(
        tmp_path / "two-takes.wav", signals.mix(signals.song(4.0, seed=5)), signals.RATE, "wav16"
    )
    sign_up("ida")
    page.set_input_files("input[type='file']", str(clip))
    page.get_by_label(re.compile("4 stems", re.I)).check()
    page.locator("form:has(input[type='file']) [type='submit']").click()
    wait_for_player(page, 4)
    four_url = page.url

    # other options from the library, no upload: what it offers first is the missing 2 stems
    page.goto("/library/")
    page.locator(".separate-again summary").click()
    assert page.input_value(".separate-form select[name='mode']") == "2"
    separate_again(page, "2", "default")
    wait_for_player(page, 2)
    two_url = page.url
    assert two_url != four_url

    page.goto("/library/")
    assert page.locator(".track-row").count() == 1
    links = page.locator(".separation-link")
    assert links.count() == 2
    # newest first, each named by its model, stems and quality
    assert links.nth(0).text_content() == "htdemucs, 2 stems (vocals / rest), best"
    assert links.nth(1).text_content() == "htdemucs, 4 stems, best"
    assert page.locator(".separation .status-done").count() == 2
    links.nth(1).click()
    wait_for_player(page, 4)
    assert page.url == four_url

    # options that have a result lead to it, with a word why
    separate_again(page, "4", "default")
    wait_for_player(page, 4)
    assert page.url == four_url
    assert "was already separated with these options" in page.text_content(".messages")

    page.set_viewport_size(PHONE)
    page.goto("/library/")
    page.locator(".separate-again summary").click()
    fit = page.evaluate(OFF_SCREEN)
    assert fit["scroll"] <= PHONE["width"] and fit["off"] == [], fit
    page.screenshot(path=str(Path(screenshot_dir) / "09-library-phone.png"), full_page=True)
    assert page.errors == []
