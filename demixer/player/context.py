"""What the result page (``player/result.html``) receives: one builder for every page that shows
it (the owner's job page, and read-only share links), so they cannot drift apart.

See ``CONTRACT.md`` beside this file for every name. The URLs the page links to come from a
:class:`PageUrls`: the owner's routes by default; a share link passes its own (previews and
downloads through the share's token), and the owner-only parts (the original for "compare",
cancel, the mix form's CSRF post) are left out where ``owner`` is false.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.urls import reverse

from demixer.engine import formats
from demixer.engine.registry import LICENSE_NOTE
from demixer.exports import conversions as audio_render
from demixer.player.compare import compare_context
from demixer.separation import queue
from demixer.separation.models import Separation, Stem

INSTRUMENTAL_FORMAT = formats.WAV
# the download settings' first choice (zip, instrumental, mix): the masters as they are, so the
# zip comes at once, lossless
DOWNLOAD_FORMAT = audio_render.MASTER


@dataclass(frozen=True)
class PageUrls:
    """The owner's routes for one job; a share link subclasses it with its own routes (the same
    methods, the same meaning). ``original`` and ``status`` may answer None (not offered)."""

    job: Separation

    def _args(self, *rest: object) -> list[object]:
        return [self.job.id, *rest]

    def preview(self, stem: str) -> str:
        return reverse("stem-preview", args=self._args(stem))

    def stem_download(self, stem: str, fmt: str) -> str:
        return reverse("stem-download", args=self._args(stem, fmt))

    def zip(self) -> str:
        return reverse("separation-zip", args=self._args())

    def instrumental(self, fmt: str) -> str:
        return reverse("separation-instrumental", args=self._args(fmt))

    def mix(self) -> str:
        return reverse("separation-mix", args=self._args())

    def original(self) -> str | None:
        return reverse("separation-original", args=self._args())

    def status(self) -> str | None:
        return reverse("separation-status", args=self._args())


def result_context(
    job: Separation,
    *,
    viewer: object = None,
    share: object = None,
    urls: PageUrls | None = None,
    live: dict[str, object] | None = None,
) -> dict[str, Any]:
    """The page's context (CONTRACT.md). ``viewer``: the request's user; ``share``: the share
    link it came through (None on the owner's own page), put in the context as ``share``;
    ``urls``: where the page links (default: the owner's routes); ``live``: the status
    endpoint's ``ready`` object of a running job that has published pieces (the page then plays
    them, its stems named by them, its downloads hidden until the job is done)."""
    urls = urls or PageUrls(job)
    owner = share is None and viewer is not None and viewer == job.track.owner
    if live is None:
        stems = list(job.stems.all())
    else:
        names = live["stems"]
        assert isinstance(names, list)
        stems = [Stem(name=n) for n in names]  # a running job has no stem rows yet
    present = {s.name for s in stems}
    # with two stems the other one is the instrumental, already a row of its own
    has_instrumental = "vocals" in present and len(present) > 2
    context: dict[str, Any] = {
        "separation": job,
        "track": job.track,
        "share": share,
        "owner": owner,
        "original_url": urls.original() if owner else None,
        "stems": [_stem(urls, stem) for stem in stems],
        "mix_formats": [
            {
                "name": fmt.name,
                "value": fmt.name,
                "label": fmt.label,
                "selected": fmt == DOWNLOAD_FORMAT,
            }
            for fmt in formats.FORMATS.values()
        ],
        **download_settings(job, urls, has_instrumental),
        "zip_url": urls.zip(),
        "instrumental_url": (
            urls.instrumental(INSTRUMENTAL_FORMAT.name) if has_instrumental else None
        ),
        "mix_url": urls.mix(),
        # the footer's note, for the model that made these stems
        "licence_note": job.licence_note or LICENSE_NOTE,
        # the track's other finished separations, to hear side by side: the owner's own page
        # only (a share link reaches this separation alone), once this one is done
        "compare": compare_context(job) if owner and live is None else None,
    }
    if live is not None:
        context["live"] = live
        context["status_url"] = urls.status()
        context["job_status"] = queue.job_status(job)  # the progress bar's first figures
    return context


def _stem(urls: PageUrls, stem: Stem) -> dict[str, object]:
    return {
        "name": stem.name,
        "label": stem.label,
        "preview_url": urls.preview(stem.name),
        "peaks": stem.peaks,
        "colour": stem.colour,
        "downloads": {fmt: urls.stem_download(stem.name, fmt) for fmt in formats.NAMES},
        # the master is a plain download, the other formats are rendered first (the page's
        # script waits for them)
        "files": [
            {
                "format": fmt.name,
                "label": fmt.label,
                "url": urls.stem_download(stem.name, fmt.name),
                "rendered": fmt != audio_render.MASTER,
            }
            for fmt in formats.FORMATS.values()
        ],
    }


def download_settings(job: Separation, urls: PageUrls, instrumental: bool) -> dict[str, object]:
    """The result page's download settings (format: ``mix_formats``; sample rate, bit depth)
    and what its script needs to apply them to the zip, the instrumental and each stem's links
    (``download_options``: each format's bit depths and rates, the defaults, the URLs by
    format)."""
    rates = audio_render.download_rates(job.track.sample_rate)
    return {
        "download_rates": [
            {
                "value": rate,
                "label": f"{rate / 1000:g} kHz"
                + (
                    " (as separated)"
                    if rate == audio_render.STORED_RATE
                    else " (the original's)"
                    if rate == job.track.sample_rate
                    else ""
                ),
                "selected": rate == audio_render.STORED_RATE,
            }
            for rate in rates
        ],
        "download_bit_depths": [
            {
                "value": depth,
                "label": f"{depth}-bit float" if depth == 32 else f"{depth}-bit",
                "selected": depth == audio_render.DOWNLOAD_BIT_DEPTH,
            }
            for depth in formats.BIT_DEPTHS
        ],
        "instrumental_href": urls.instrumental(DOWNLOAD_FORMAT.name) if instrumental else None,
        "download_options": {
            "master": audio_render.MASTER.name,
            "stored_rate": audio_render.STORED_RATE,
            "bit_depth": audio_render.DOWNLOAD_BIT_DEPTH,
            "bit_depths": {fmt.name: fmt.bit_depths for fmt in formats.FORMATS.values()},
            "rates": {
                fmt: audio_render.download_rates(job.track.sample_rate, fmt)
                for fmt in formats.NAMES
            },
            "zip": urls.zip(),
            "instrumental": (
                {fmt: urls.instrumental(fmt) for fmt in formats.NAMES} if instrumental else None
            ),
        },
    }
