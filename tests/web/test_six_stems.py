"""A 6-stem job end to end: a random-weight htdemucs_6s checkpoint made with demucs' own class,
imported with ``demixer models import`` (the importer's own PyTorch environment), offered by the
upload form, separated by the real worker with the imported graph: six Stem rows, six files in
the zip, and the instrumental is the five stems that are not vocals."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.urls import reverse

from demixer.engine import model_files, registry
from demixer.separation.models import Separation, Status
from tests.web.conftest import body, decode_bytes, run_worker, upload
from tests.web.test_downloads import rendered
from tests.web.test_files import correlation, master

pytestmark = [pytest.mark.model, pytest.mark.django_db(transaction=True)]

SIX = ("drums", "bass", "other", "vocals", "guitar", "piano")


@pytest.fixture
def six_stems_installed(six_stem_import: Path, settings) -> Iterator[None]:
    previous = model_files._configured_dir
    settings.MODELS_DIR = six_stem_import
    registry.configure(six_stem_import)
    yield
    model_files._configured_dir = previous


def test_a_six_stem_job_through_the_real_worker(
    six_stems_installed, alice_client, make_clip, media_dir, tmp_path
) -> None:
    form = alice_client.get(reverse("separation-new")).content.decode()
    assert 'value="htdemucs_6s"' in form and "guitar, piano" in form
    upload(alice_client, make_clip(5.0, seed=8), mode="htdemucs_6s")
    job = Separation.objects.get()
    assert job.model_name == "htdemucs_6s"
    run_worker()
    job.refresh_from_db()
    assert job.status == Status.DONE, job.error
    assert tuple(job.stems.values_list("name", flat=True).order_by("position")) == SIX

    page = alice_client.get(reverse("separation-detail", args=[job.id])).content.decode()
    for name in SIX:
        assert f'data-stem="{name}"' in page

    archive = zipfile.ZipFile(
        io.BytesIO(body(alice_client.get(reverse("separation-zip", args=[job.id]))))
    )
    assert len(archive.namelist()) == 6
    assert {n.rsplit("(", 1)[1].split(")")[0] for n in archive.namelist()} == set(SIX)

    url = reverse("separation-instrumental", args=[job.id, "wav"])
    samples, _ = decode_bytes(rendered(alice_client, alice_client.get(url)), tmp_path, ".wav")
    expected = sum(master(media_dir, job, n) for n in SIX if n != "vocals")
    assert correlation(samples, expected) > 0.999
