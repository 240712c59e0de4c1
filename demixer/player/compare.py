"""Models side by side: the other finished separations of a job's track, which its result page
plays on the same clock as its own stems (``static/player/compare.js``), and what the page
fetches of the one chosen.

Only the owner's own page offers them: a share link reaches its one separation and nothing else
of the track, and a running job's page (listen while it separates) plays its pieces alone.
Stems are paired by the part of the song they hold (:func:`demixer.engine.stems.part`), so
Spleeter's accompaniment meets a two-stem job's instrumental.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.urls import reverse

from demixer.engine import stems as stem_styles
from demixer.separation.models import Separation, Status, Stem


def others(job: Separation) -> list[Separation]:
    """The track's other finished separations, newest first (its owner's, as the track is)."""
    return list(
        Separation.objects.filter(track_id=job.track_id, status=Status.DONE)
        .exclude(id=job.id)
        .prefetch_related("stems")
        .order_by("-created")
    )


def summary(job: Separation, stems: Iterable[Stem]) -> dict[str, object]:
    """What the page says of one separation before its audio is fetched: its label, its stems
    by name and part, where its page and its stems' data are."""
    return {
        "id": str(job.id),
        "label": job.version_label,
        "page_url": reverse("separation-detail", args=[job.id]),
        "stems_url": reverse("separation-stems-json", args=[job.id]),
        "stems": [
            {"name": stem.name, "label": stem.label, "part": stem_styles.part(stem.name)}
            for stem in stems
        ],
    }


def compare_context(job: Separation) -> dict[str, object] | None:
    """The result page's ``compare`` (CONTRACT.md): this separation (A) and the others it can
    be compared with (the first is B unless the page's ``?compare=`` names another), or None
    when the track has no other finished separation."""
    rivals = others(job)
    if not rivals:
        return None
    return {
        "this": summary(job, job.stems.all()),
        "others": [{**summary(o, o.stems.all()), "created": o.created} for o in rivals],
    }


def stems_payload(job: Separation) -> dict[str, object]:
    """A finished separation's stems as the compare player loads them: each one's preview (the
    player's MP3), its waveform peaks and colour, besides :func:`summary`'s names."""
    stems = list(job.stems.all())
    data = summary(job, stems)
    data["stems"] = [
        {
            "name": stem.name,
            "label": stem.label,
            "part": stem_styles.part(stem.name),
            "preview_url": reverse("stem-preview", args=[job.id, stem.name]),
            "peaks": stem.peaks,
            "colour": stem.colour,
        }
        for stem in stems
    ]
    return data
