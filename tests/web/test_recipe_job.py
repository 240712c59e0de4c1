"""A recipe job end to end: ``spleeter`` on the mix, then ``htdemucs`` on its accompaniment,
chosen in the upload form, separated by the real worker with the real engine: five Stem rows
(more than any built-in model gives), each shown on the result page and in the zip."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.urls import reverse

from demixer.engine import model_files, registry, stems
from demixer.engine.recipe import manifest
from demixer.separation.models import Separation, Status
from tests.web.conftest import body, run_worker, upload

pytestmark = [pytest.mark.model, pytest.mark.django_db(transaction=True)]

STEMS = (
    "vocals",
    "accompaniment_drums",
    "accompaniment_bass",
    "accompaniment_other",
    "accompaniment_vocals",
)


@pytest.fixture
def recipe_installed(tmp_path: Path, settings) -> Iterator[None]:
    """A models folder with the real htdemucs and Spleeter files (links) and the recipe."""
    folder = tmp_path / "models"
    folder.mkdir()
    for path in registry.models_dir().iterdir():
        if path.name.startswith(("htdemucs", "spleeter")) and path.is_file():
            (folder / path.name).symlink_to(path)
    manifest.write(folder, manifest.Recipe("split", "spleeter", "htdemucs", "accompaniment"))
    previous = model_files._configured_dir
    settings.MODELS_DIR = folder
    registry.configure(folder)
    yield
    model_files._configured_dir = previous


def test_a_recipe_job_through_the_real_worker(recipe_installed, alice_client, make_clip) -> None:
    form = alice_client.get(reverse("separation-new")).content.decode()
    assert 'value="split"' in form and "accompaniment_drums" in form
    upload(alice_client, make_clip(5.0, seed=9), mode="split")
    job = Separation.objects.get()
    assert job.model_name == "split"
    run_worker()
    job.refresh_from_db()
    assert job.status == Status.DONE, job.error
    assert tuple(job.stems.values_list("name", flat=True).order_by("position")) == STEMS

    page = alice_client.get(reverse("separation-detail", args=[job.id])).content.decode()
    for name in STEMS:
        assert f'data-stem="{name}"' in page and stems.label(name) in page

    archive = zipfile.ZipFile(
        io.BytesIO(body(alice_client.get(reverse("separation-zip", args=[job.id]))))
    )
    assert len(archive.namelist()) == len(STEMS)
    # each file named by its stem's label (accompaniment_drums: "Accompaniment drums")
    named = {n.rsplit("(", 1)[1].split(")")[0] for n in archive.namelist()}
    assert named == {stems.label(s).lower() for s in STEMS}
