"""The upload form in a real browser: refused files come back as messages on the page (the form
is sent by script, for its progress bar), and over-size files are refused before uploading."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e


def test_a_non_audio_file_is_refused_with_a_message(
    page, sign_up, live_app, tmp_path: Path
) -> None:
    sign_up("hedy")
    fake = tmp_path / "holiday.mp3"
    fake.write_text("these are my holiday notes, not a song\n" * 50)
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.resource_type) if r.method == "POST" else None)
    page.set_input_files("input[type='file']", str(fake))
    page.locator("#upload-submit").click()
    error = page.wait_for_selector("#upload-errors")
    assert posts == ["xhr"]  # sent by the script that shows upload progress
    assert re.search(r"holiday\.mp3: not a recognised audio file", error.text_content())
    assert page.url.endswith("/separations/new/")  # still the form, not a new document
    # the same page, its errors shown by the script from the server's JSON: the form can be
    # used again
    page.set_input_files("input[type='file']", str(fake))
    assert page.locator("#file-list li").count() == 1
    page.goto("/library/")
    assert "holiday" not in page.content()  # nothing was kept
    assert page.errors == []


def test_an_oversize_file_is_refused_before_it_is_sent(
    page, sign_up, live_app, tmp_path: Path
) -> None:
    sign_up("lise")
    big = tmp_path / "long-mix.wav"
    big.write_bytes(b"\0" * 200_000)
    # the server's limit is 200 MB; lower the page's copy of it instead of sending 200 MB
    page.eval_on_selector("#upload-form", "f => { f.dataset.maxMb = '0.1'; }")
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.method))
    page.set_input_files("input[type='file']", str(big))
    page.locator("#upload-submit").click()
    message = page.wait_for_selector("#upload-client-errors:not([hidden])")
    assert "long-mix.wav: larger than the limit of 0.1 MB" in message.text_content()
    assert "POST" not in requests
    assert page.errors == []


def test_the_speed_note_follows_the_chosen_model(page, sign_up, live_app) -> None:
    """The note under the stems choice says how long the chosen model takes here; choosing
    another model changes it to that model's (each choice carries its own sentence)."""
    sign_up("tempo")
    note = page.locator("#mode-speed")
    default = page.locator("label[data-took]:has(input[value='4'])").get_attribute("data-took")
    quick = page.locator("label[data-took]:has(input[value='spleeter'])").get_attribute("data-took")
    assert default and quick and default != quick
    assert re.fullmatch(r"About [\d.]+× the song's length here: .+\.", default)
    assert note.text_content() == default
    page.check("input[name=mode][value=spleeter]")
    assert note.text_content() == quick
    page.check("input[name=mode][value='2']")
    assert note.text_content() == default  # the same model, the same speed
    assert page.errors == []
