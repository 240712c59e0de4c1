"""A share link in a real browser, against the real server and worker: the owner makes one
from the result page's Share panel (stems allowed, no zip); a visitor with no account opens it
in a fresh browser context, hears the player run (its clock moves) and downloads a stem; the
page says noindex and offers neither the zip, the original nor the owner's panel. Then the
owner revokes it and the visitor's page is a 404. One Spleeter run (the quick model)."""

from __future__ import annotations

import pytest
import soundfile as sf

from demixer.testing import signals
from demixer.testing.files import write_audio

pytestmark = pytest.mark.e2e

CLIP_SECONDS = 6.0


def test_a_visitor_opens_a_share_link_plays_and_downloads(
    page, player, sign_up, live_app, browser, tmp_path
) -> None:
    clip = write_audio(
        tmp_path / "rehearsal.wav",
        signals.mix(signals.song(CLIP_SECONDS, seed=5)),
        signals.RATE,
        "wav16",
    )
    sign_up("band")
    page.set_input_files("input[type='file']", str(clip))
    page.check("input[name=mode][value=spleeter]")
    page.locator("form:has(input[type='file']) [type='submit']").click()
    page.wait_for_selector("#share", timeout=400_000)  # the result page, with its Share panel

    # ---- the owner makes a link: 1 day, each stem, no zip ------------------------------
    page.check("#share input[name=expires][value='1d']")
    page.uncheck("#share input[name=allow_zip]")
    page.click("#share [type=submit]")
    url = page.input_value("#share-new-url")
    assert "/s/" in url

    # ---- a visitor, no account, a fresh browser context --------------------------------
    visitor = browser.new_context(base_url=live_app.url, accept_downloads=True)
    try:
        shared = visitor.new_page()
        errors: list[str] = []
        shared.on("pageerror", lambda err: errors.append(str(err)))
        response = shared.goto(url)
        assert response is not None and response.status == 200
        assert response.headers["x-robots-tag"].startswith("noindex")
        assert shared.get_attribute("meta[name=robots]", "content").startswith("noindex")
        assert shared.locator("#share").count() == 0  # not the owner's panel
        assert shared.locator("a[data-download=zip]").count() == 0  # not allowed
        assert shared.get_attribute("#player", "data-original-url") is None
        assert shared.locator("text=Log in").count() >= 1  # no account here

        shared_player = player.on(shared)
        shared_player.wait_for(
            "() => document.querySelector('#player').dataset.state === 'ready'", timeout=60_000
        )
        shared.click("[data-action=play]")
        shared_player.wait_for("p => p.playing()")
        shared_player.wait_for("p => p.position() > 0.3", timeout=10_000)

        name = shared.eval_on_selector(".stem[data-stem]", "row => row.dataset.stem")
        with shared.expect_download() as info:
            shared.click(f".stem[data-stem='{name}'] a[data-format=flac]")
        saved = tmp_path / "shared.flac"
        info.value.save_as(saved)
        data, rate = sf.read(saved)
        assert rate == signals.RATE and abs(len(data) / rate - CLIP_SECONDS) < 0.1
        assert errors == []

        # ---- the owner revokes it: the visitor's link is gone --------------------------
        page.click("#share [data-share] button")
        assert page.locator("#share [data-share][data-live=false]").count() == 1
        assert shared.goto(url).status == 404
    finally:
        visitor.close()
