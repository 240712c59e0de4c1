"""Every page through axe-core (npm, pinned in package-lock.json) at desktop 1366 x 900 and phone
390 x 844: no serious or critical violation, and no page wider than the screen (sideways scroll).

One real separation (the real server, worker and model) gives the job page, the result page and
the library their content; a token with a webhook gives the tokens page its table and secret.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from demixer.testing import signals
from demixer.testing.files import write_audio

pytestmark = pytest.mark.e2e

PASSWORD = "correct-horse-staple-42"

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SIZES = {
    "desktop": {"viewport": {"width": 1366, "height": 900}},
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
}
# the violations that fail: axe's "serious" and "critical" impacts, each with where it was found
AXE_RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations.filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => ({id: v.id, impact: v.impact, help: v.help,
                  nodes: v.nodes.slice(0, 4).map((n) => n.target.join(" ") + ": " +
                    (n.failureSummary || "").split("\\n").slice(1, 2).join(""))}));
}"""
# how much wider the document is than the screen, and the elements that stick out
SIDEWAYS = """() => {
  const width = document.documentElement.clientWidth;
  const off = [...document.querySelectorAll("body *")].filter((el) => {
    if (el.closest(".skip-link, .visually-hidden")) return false;
    const box = el.getBoundingClientRect();
    return box.width > 0 && (box.right > width + 0.5 || box.left < -0.5);
  }).slice(0, 6).map((el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
    (typeof el.className === "string" && el.className ? "." + el.className : ""));
  return {scroll: document.documentElement.scrollWidth, width, off};
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
# sliders a finger would miss (WCAG 2.5.5's 44 px)
SMALL_SLIDERS = """() => [...document.querySelectorAll("input[type=range]")]
  .map((el) => [el.getAttribute("aria-label") || el.className, el.getBoundingClientRect().height])
  .filter(([, height]) => height > 0 && height < 44)"""


@pytest.fixture(scope="module")
def axe_source() -> str:
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run make setup-js (npm ci)")
    return AXE.read_text()


def check(page, axe_source: str, size: str, name: str, found: list[str]) -> None:
    """Run axe and the width check on the page as it is now; add what fails to ``found``."""
    page.wait_for_load_state("load")
    if not page.evaluate("() => typeof axe !== 'undefined'"):
        page.evaluate(axe_source)  # through the DevTools protocol: the page's CSP stays on
    for v in page.evaluate(AXE_RUN):
        found.append(f"{size} {name}: {v['impact']} {v['id']} ({v['help']}): {v['nodes']}")
    fit = page.evaluate(SIDEWAYS)
    if fit["scroll"] > fit["width"]:
        found.append(f"{size} {name}: {fit['scroll']} px wide on {fit['width']}: {fit['off']}")
    if size == "phone":
        if (lines := page.evaluate(HEADER_LINES)) > 1:
            found.append(f"phone {name}: the header takes {lines} lines")
        if small := page.evaluate(SMALL_SLIDERS):
            found.append(f"phone {name}: sliders under 44 px tall: {small}")


def test_every_page_passes_axe_and_fits_the_screen(browser, live_app, tmp_path, axe_source):
    found: list[str] = []
    contexts = {
        size: browser.new_context(base_url=live_app.url, **options)
        for size, options in SIZES.items()
    }
    pages = {size: context.new_page() for size, context in contexts.items()}
    desktop = pages["desktop"]

    def every_size(path: str, name: str) -> None:
        for size, page in pages.items():
            page.goto(path)
            check(page, axe_source, size, name, found)

    for path, name in [
        ("/", "landing"),
        ("/accounts/signup/", "sign-up"),
        ("/accounts/login/", "log-in"),
        ("/accounts/password_reset/", "password reset"),
        ("/accounts/password_reset/done/", "password reset sent"),
    ]:
        every_size(path, name)

    # a form's errors and the lockout page (five wrong passwords for one name)
    for _ in range(5):
        desktop.goto("/accounts/login/")
        desktop.fill("input[name='username']", "nobody-here")
        desktop.fill("input[name='password']", "wrong-password-1")
        desktop.locator("form [type='submit']").click()
    check(desktop, axe_source, "desktop", "lockout", found)

    desktop.goto("/accounts/signup/")
    desktop.fill("input[name='username']", "axel")
    desktop.fill("input[name='email']", "axel@example.com")
    desktop.fill("input[name='password1']", PASSWORD)
    desktop.fill("input[name='password2']", "not the same")
    desktop.locator("form:has(input[name='password2']) [type='submit']").click()
    check(desktop, axe_source, "desktop", "sign-up with errors", found)
    desktop.fill("input[name='password1']", PASSWORD)
    desktop.fill("input[name='password2']", PASSWORD)
    desktop.locator("form:has(input[name='password2']) [type='submit']").click()
    desktop.wait_for_selector("input[type='file']")
    contexts["phone"].add_cookies(contexts["desktop"].cookies())

    every_size("/separations/new/", "upload")
    # the native picker is hidden ("No file chosen" beside the page's own list), still labelled
    picker = desktop.locator("input[type='file']")
    assert picker.bounding_box()["width"] <= 1
    assert desktop.get_by_label(re.compile("Drop audio files here")).count() == 1
    clip = write_audio(
        tmp_path / "mixture.wav", signals.mix(signals.song(4.0, seed=9)), signals.RATE, "wav16"
    )
    desktop.set_input_files("input[type='file']", str(clip))
    desktop.get_by_label(re.compile("4 stems", re.I)).check()
    desktop.locator("form:has(input[type='file']) [type='submit']").click()
    desktop.wait_for_url(re.compile(r"/separations/[0-9a-f-]+/$"))
    job_url = desktop.url
    check(desktop, axe_source, "desktop", "job page", found)  # queued or running
    desktop.wait_for_selector("#player[data-state=ready]", timeout=240_000)
    # the flash messages list and a result page at both sizes
    every_size(job_url, "result page")
    for size, page in pages.items():  # the metronome's alignment tools, unfolded
        page.locator(".metronome-align summary").click()
        check(page, axe_source, size, "result page, metronome aligning", found)
    every_size("/library/", "library")
    track = desktop.get_attribute(".track-row", "data-track")
    # search, sort and filter: a plain form, so a person's choice is a link
    desktop.fill("input[name='q']", "mixt")
    desktop.select_option("select[name='sort']", "title")
    desktop.locator("#library-tools [type='submit']").click()
    desktop.wait_for_url(re.compile(r"q=mixt"))
    assert desktop.locator(".track-row").count() == 1
    assert "1 of 1 track" in desktop.text_content("#library-count")
    desktop.select_option("select[name='status']", "failed")
    desktop.locator("#library-tools [type='submit']").click()
    desktop.wait_for_selector("#library-none-match")
    check(desktop, axe_source, "desktop", "library, nothing matches", found)
    assert "stored" in desktop.text_content("#library-usage")
    every_size(f"/tracks/{track}/rename/", "rename")
    every_size(f"/tracks/{track}/delete/", "delete")
    every_size("/accounts/password_change/", "password change")

    for size, page in pages.items():
        page.goto("/accounts/tokens/")
        page.fill("input[name='name']", f"a {size} script with a rather long name")
        page.fill("input[name='webhook_url']", "https://1.1.1.1/demixer/hook/" + "x" * 60)
        page.locator("#token-form [type='submit']").click()
        page.wait_for_selector("#token-secret")
        check(page, axe_source, size, "tokens (new secret)", found)
    contexts["desktop"].grant_permissions(["clipboard-read", "clipboard-write"])
    desktop.click("[data-copy='token-secret']")
    desktop.wait_for_selector("[data-copy='token-secret']:text('Copied')")
    copied = desktop.evaluate("() => navigator.clipboard.readText()")
    assert copied == desktop.text_content("#token-secret").strip()
    every_size("/accounts/tokens/", "tokens")
    # Swagger UI's own page (a vendored build) is not ours to fix: checked for width only
    for size, page in pages.items():
        page.goto("/api/v1/docs")
        page.wait_for_selector(".swagger-ui")
        fit = page.evaluate(SIDEWAYS)
        if fit["scroll"] > fit["width"]:
            found.append(f"{size} API docs: {fit['scroll']} px wide on {fit['width']}")
    for context in contexts.values():
        context.close()

    assert not found, "\n".join(found)


def test_axe_finds_what_it_should(browser, live_app, axe_source):
    """The check can fail: a page with a low-contrast button fails it."""
    page = browser.new_page(base_url=live_app.url)
    page.goto("/")
    page.evaluate(
        """() => { const b = document.createElement("button");
        b.textContent = "faint"; b.style.cssText = "color:#fff;background:#0ea5e9";
        document.querySelector("main").append(b); }"""
    )
    found: list[str] = []
    check(page, axe_source, "desktop", "doctored landing", found)
    page.close()
    assert any("color-contrast" in line for line in found), json.dumps(found)
