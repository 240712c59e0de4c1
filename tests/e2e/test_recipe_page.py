"""A recipe's result page in a real browser against the real server and worker: ``spleeter`` on
the mix, then ``htdemucs`` on its accompaniment (the real weights of both), chosen in the upload
form and separated by the worker into five stems, more than any built-in model gives. Every
stem has its row with its label and a drawn waveform, solo and mute act across all five rows in
the player's state (its gains, read through the ``player`` fixture), and the zip the page offers
holds every stem.

This module runs a live app of its own whose models folder holds the two models (linked, not
copied) and the recipe, so the other browser tests keep the shared app and its warm-up.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from demixer.engine import model_files, stems
from demixer.engine.recipe import manifest
from tests.e2e.conftest import generated_clip, separate_and_open, serving_models

pytestmark = [pytest.mark.e2e, pytest.mark.model]

RECIPE = manifest.Recipe("split", "spleeter", "htdemucs", "accompaniment")
# the recipe's stems in its own order: Spleeter's vocals, then htdemucs' on the accompaniment
STEMS = (
    "vocals",
    "accompaniment_drums",
    "accompaniment_bass",
    "accompaniment_other",
    "accompaniment_vocals",
)
RATE = 44100
SECONDS = 5.0

# how many of a row's waveform pixels are painted (its canvas, read back in the page)
PAINTED = """row => {
  const canvas = row.querySelector("canvas.wave");
  const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let painted = 0;
  for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) painted += 1;
  return painted;
}"""


@pytest.fixture(scope="module")
def live_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """`demixer serve` whose models folder holds htdemucs, Spleeter and the recipe alone."""

    def fill(models: Path) -> None:
        for path in model_files.models_dir().iterdir():
            if path.name.startswith(("htdemucs", "spleeter")) and path.is_file():
                (models / path.name).symlink_to(path)
        manifest.write(models, RECIPE)

    with serving_models(tmp_path_factory, "recipe", fill) as app:
        yield app


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generated_clip(tmp_path_factory.mktemp("recipe"), "two-step-groove", SECONDS, seed=12)


def test_a_recipe_result_page_in_the_browser(
    page, player, sign_up, live_app, clip, screenshot_dir
) -> None:
    sign_up("twostep")
    page.set_input_files("input[type='file']", str(clip))
    page.check(f"input[name='mode'][value='{RECIPE.name}']")
    separate_and_open(page, timeout_s=900)

    # ---- the finished page: a row per stem, in the recipe's order, each labelled and drawn
    rows = page.eval_on_selector_all(".stem[data-stem]", "rows => rows.map(r => r.dataset.stem)")
    assert tuple(rows) == STEMS
    for name in STEMS:
        row = page.locator(f".stem[data-stem='{name}']")
        assert row.locator(".stem-name").inner_text() == stems.label(name)
        assert row.get_attribute("data-loaded") == "true", name
        assert row.evaluate(PAINTED) > 100, f"the waveform of {name} is blank"
    assert player.evaluate("p => p.gains()") == dict.fromkeys(STEMS, 1)

    # ---- solo and mute across all five rows (the player's gains: what is audible) ----------
    last, other = STEMS[-1], STEMS[1]
    page.click(f".stem[data-stem='{last}'] [data-action='solo']")
    assert player.evaluate("p => p.gains()") == {n: int(n == last) for n in STEMS}
    page.click(f".stem[data-stem='{other}'] [data-action='solo']")
    assert player.evaluate("p => p.gains()") == {n: int(n in (last, other)) for n in STEMS}
    page.click(f".stem[data-stem='{last}'] [data-action='mute']")  # mute wins over solo
    assert player.evaluate("p => p.gains()") == {n: int(n == other) for n in STEMS}
    page.click(f".stem[data-stem='{last}'] [data-action='solo']")
    page.click(f".stem[data-stem='{other}'] [data-action='solo']")
    assert player.evaluate("p => p.gains()") == {n: int(n != last) for n in STEMS}
    assert page.get_attribute(f".stem[data-stem='{last}']", "data-muted") == "true"
    page.click(f".stem[data-stem='{last}'] [data-action='mute']")
    assert player.evaluate("p => p.gains()") == dict.fromkeys(STEMS, 1)
    page.screenshot(path=str(screenshot_dir / "10-result-recipe.png"), full_page=True)

    # ---- the zip from the page: one lossless file per stem, named by its label -------------
    with page.expect_download() as info:
        page.locator(".player-zip").click()
    archive = zipfile.ZipFile(info.value.path())
    members = [n for n in archive.namelist() if not n.endswith("/")]
    assert len(members) == len(STEMS), members
    named = {n.rsplit("(", 1)[1].split(")")[0]: n for n in members}
    assert set(named) == {stems.label(s).lower() for s in STEMS}, members
    for label, member in named.items():
        samples, rate = sf.read(io.BytesIO(archive.read(member)), always_2d=True)
        assert rate == RATE and abs(samples.shape[0] - SECONDS * RATE) <= RATE * 0.01, label
        assert np.abs(samples).max() > 1e-4, f"{label} is silent"
    assert page.errors == []
