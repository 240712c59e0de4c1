from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile

from demixer.engine import audio, registry
from demixer.engine.errors import AudioDecodeError
from demixer.engine.htdemucs import fast_check
from demixer.separation import modes, speed
from demixer.separation.models import Quality
from demixer.tracks.models import Track
from demixer.tracks.uploads import local_path, streamed_sha256


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args: Any, **kwargs: Any) -> None:  # FileField's, passed on
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": "audio/*,.opus,.m4a"}))
        super().__init__(*args, **kwargs)

    def clean(self, data: object, initial: object = None) -> list[UploadedFile]:
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data]
        return [single(data, initial)] if data else []


@dataclass
class CheckedUpload:
    """An upload proven to be whole audio within the limits."""

    upload: UploadedFile
    info: audio.AudioInfo
    sha256: str


MODE_CHOICES = modes.choices  # a callable: models imported later are offered too

QUALITY_CHOICES = [
    (Quality.DEFAULT.value, "Best (default)"),
    (Quality.FAST.value, "Fast (about 15 % quicker, nearly identical)"),
]


class UploadForm(forms.Form):
    # the metaclass moves declared fields into base_fields, so the instance's `files` stays the
    # uploaded files (BaseForm.files) at run time; the stubs see a class attribute
    files = MultipleFileField(label="Audio files", required=False)  # type: ignore[assignment]
    mode = forms.ChoiceField(choices=MODE_CHOICES, initial="4", widget=forms.RadioSelect)
    # optional so a client that predates it still gets the default
    quality = forms.ChoiceField(
        choices=QUALITY_CHOICES, initial=Quality.DEFAULT, widget=forms.RadioSelect, required=False
    )

    def __init__(self, *args: Any, refused: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.refused = refused or []
        self.checked: list[CheckedUpload] = []
        self.refusals: list[str] = []  # "name: why" for each file refused (the others go ahead)
        # the worker checks the fast mode against the default mode once per host; where it
        # was refused, the page no longer offers it (a job asking for it all the same, from an
        # older page, runs in default mode and says so)
        verdict = fast_check.cached(device=settings.SEPARATION_DEVICE)
        self.fast_unavailable = verdict is not None and not verdict.usable

    def clean_files(self) -> list[UploadedFile]:
        files = self.cleaned_data.get("files") or []
        errors = [
            f"{name}: larger than the limit of {settings.MAX_UPLOAD_MB} MB" for name in self.refused
        ]
        if not files and not errors:
            raise forms.ValidationError("Choose at least one audio file.")
        for upload in files:
            path = local_path(upload)
            try:
                info = audio.validate(
                    path,
                    max_seconds=settings.MAX_MINUTES * 60,
                    max_rate=settings.MAX_SAMPLE_RATE,
                    max_channels=settings.MAX_CHANNELS,
                )
            except AudioDecodeError as exc:
                errors.append(_with_name(str(exc), path.name, upload.name or "file"))
                continue
            self.checked.append(CheckedUpload(upload, info, streamed_sha256(upload)))
        # the good files go ahead; the page says which others were not added, and why
        self.refusals = errors
        if not self.checked:
            raise forms.ValidationError(errors)
        return files

    @property
    def unavailable_modes(self) -> set[str]:
        """Choices whose model is not installed on this server: not offered."""
        return {mode.value for mode in modes.all_modes() if not mode.installed}

    def mode_options(self) -> list[tuple[Any, str, str]]:
        """Each offered mode's radio with its model's qualities ("default fast"), so the page
        offers only the qualities the chosen model has, and how long it takes here
        (:func:`demixer.separation.speed.note`), which the page shows for the chosen one."""
        unavailable = self.unavailable_modes
        rtf = speed.htdemucs_rtf_here()
        options = []
        for radio in self["mode"]:
            if radio.data["value"] in unavailable:
                continue
            mode = modes.by_value(radio.data["value"])
            took = speed.note(speed.times_length(mode.model, rtf))
            options.append((radio, " ".join(mode.qualities), took))
        return options

    def clean_mode(self) -> str:
        mode = modes.by_value(self.cleaned_data.get("mode"))
        if not mode.installed:
            spec = registry.get_spec(mode.model)
            raise forms.ValidationError(
                f"{spec.title} is not installed on this server; choose another option."
            )
        return mode.value

    def clean(self) -> dict[str, object]:
        cleaned = super().clean() or {}
        mode, quality = modes.by_value(cleaned.get("mode")), cleaned.get("quality")
        if quality and quality not in mode.qualities:
            # only htdemucs has a fast mode; the page says so beside the quality choice
            title = registry.get_spec(mode.model).title
            self.add_error(
                "quality", f"{title} has one quality: choose Best (the fast mode is htdemucs')."
            )
        return cleaned

    @property
    def model(self) -> str:
        return modes.by_value(self.cleaned_data.get("mode")).model

    @property
    def two_stems(self) -> str:
        return modes.by_value(self.cleaned_data.get("mode")).two_stems

    def clean_quality(self) -> str:
        return self.cleaned_data.get("quality") or Quality.DEFAULT


def _with_name(message: str, temp_name: str, real_name: str) -> str:
    """The engine names the file it opened (a temporary one); the user knows the original."""
    if message.startswith(f"{temp_name}:"):
        return f"{real_name}:{message[len(temp_name) + 1 :]}"
    return f"{real_name}: {message}"


class RenameForm(forms.ModelForm):
    class Meta:
        model = Track
        fields = ("title", "artist")
