"""Turning a checked upload into a Track (stored once per user and content) and a job."""

from __future__ import annotations

import re
import unicodedata
import uuid
from pathlib import PurePath

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction

from demixer.engine.registry import DEFAULT_MODEL
from demixer.ops import disk
from demixer.separation import budget, files, quotas
from demixer.separation import services as separations
from demixer.separation.models import Quality, Separation
from demixer.separation.quotas import QuotaExceeded
from demixer.tracks.forms import CheckedUpload
from demixer.tracks.models import Track, audio_type


def add_uploads(
    owner: User,
    uploads: list[CheckedUpload],
    two_stems: str = "",
    quality: str = Quality.DEFAULT,
    model: str = DEFAULT_MODEL,
) -> list[tuple[Separation, bool]]:
    """:func:`add_upload` for each upload, once the owner's quotas allow all the new jobs and
    originals together, the model can run here and the disk has room for them: refused
    (:class:`QuotaExceeded`, ``ModelUnavailable``, ``StorageFull``), nothing of the upload is
    stored."""
    separations.check_model(model, two_stems, quality)
    durations: list[float] = []
    new_bytes = 0
    needs: dict[str, int] = {}
    seen: set[str] = set()
    for checked in uploads:
        if checked.sha256 in seen:
            continue  # the same file twice in one upload is stored and separated once
        seen.add(checked.sha256)
        track = Track.objects.filter(owner=owner, sha256=checked.sha256).first()
        if track is None:
            durations.append(checked.info.duration)
            new_bytes += checked.upload.size or 0
            job = budget.separation_needs(
                model, two_stems, checked.info.duration, checked.upload.size or 0, stored=False
            )
        elif separations.reusable(track, two_stems, quality, model) is None:
            durations.append(track.duration)
            job = budget.separation_needs(model, two_stems, track.duration, track.size, stored=True)
        else:
            continue
        for role, n in job.items():
            needs[role] = needs.get(role, 0) + n
    quotas.check(owner.pk, durations, new_bytes)
    disk.check_room(needs)
    return [add_upload(owner, checked, two_stems, quality, model) for checked in uploads]


def add_upload(
    owner: User,
    checked: CheckedUpload,
    two_stems: str = "",
    quality: str = Quality.DEFAULT,
    model: str = DEFAULT_MODEL,
) -> tuple[Separation, bool]:
    """The separation for this upload; ``reused`` when the same content with the same options
    was already separated (or is on its way) for this user, in which case nothing is stored."""
    track = Track.objects.filter(owner=owner, sha256=checked.sha256).first()
    stored_here = track is None
    if track is None:
        track = _store(owner, checked)
    try:
        return separations.start(track, two_stems, quality, model)
    except (QuotaExceeded, separations.ModelUnavailable):
        # another request of this user took the room since the check: keep nothing of this one
        if stored_here and not track.separations.exists():
            separations.delete_track(track)
        raise


def tag_text(tags: dict[str, str], key: str) -> str:
    """A tag as a page can show it: one line (controls and runs of spaces collapsed), at most
    the field's 200 characters; "" when the file does not have it."""
    raw = tags.get(key, "").replace("\ufeff", "")  # a byte-order mark some taggers leave
    text = "".join(" " if unicodedata.category(c) == "Cc" else c for c in raw)
    return " ".join(text.split())[:200]


# a track number before the title ("01 - Song", "3. Song", "07 Song"), but not a title that
# begins with a number ("99 Luftballons")
TRACK_NUMBER = re.compile(r"^(?:\d{1,3}\s*[-.)]|0\d(?=\s))\s*")


def title_from_name(filename: str) -> str:
    """A title from a file's name, for a file without tags: "01_my_song (final).wav" reads
    "my song (final)"; "untitled" when nothing is left."""
    stem = PurePath(filename.replace("\\", "/")).stem.replace("%20", " ").replace("_", " ")
    text = TRACK_NUMBER.sub("", " ".join(stem.split())).strip(" -.")
    return tag_text({"title": text}, "title") or "untitled"


def unique_title(owner: User, title: str, artist: str) -> str:
    """The title, numbered when the owner already has a track of that name ("mixture (2)"):
    three uploads all called "mixture" stay three rows a person can tell apart."""
    taken = set(
        Track.objects.filter(owner=owner, artist=artist, title__startswith=title).values_list(
            "title", flat=True
        )
    )
    if title not in taken:
        return title
    n = 2
    while f"{title} ({n})" in taken:
        n += 1
    return f"{title[: 200 - len(f' ({n})')]} ({n})"


def _store(owner: User, checked: CheckedUpload) -> Track:
    info = checked.info
    artist = tag_text(info.tags, "artist")
    # the file's own title and artist when tagged, else its name cleaned up
    title = tag_text(info.tags, "title") or title_from_name(checked.upload.name or "")
    track = Track(
        owner=owner,
        title=unique_title(owner, title, artist),
        artist=artist,
        original_name=(checked.upload.name or "")[:255],
        sha256=checked.sha256,
        size=checked.upload.size or 0,
        duration=info.duration,
        sample_rate=info.rate,
        channels=info.channels,
        codec=info.codec[:40],
        content_type=audio_type(info.container),
    )
    _save_original(track, checked)
    try:
        with transaction.atomic():
            track.save()
    except IntegrityError:
        # the same file arrived twice at once: keep the first
        track.original.delete(save=False)
        return Track.objects.get(owner=owner, sha256=checked.sha256)
    except BaseException:
        track.original.delete(save=False)
        raise
    return track


def _save_original(track: Track, checked: CheckedUpload) -> None:
    """Store the upload as the track's original; if that fails (a full disk), remove what was
    written and the track's folder, so no file is left without its row."""
    name = track.original.field.generate_filename(track, checked.upload.name or "upload")
    try:
        track.original.save(checked.upload.name or "upload", checked.upload, save=False)
    except BaseException as exc:
        track.original.storage.delete(name)
        files.delete_tree(name.rsplit("/", 1)[0])
        if isinstance(exc, OSError) and disk.is_storage_full(exc):
            raise disk.StorageFull() from exc
        raise


def record_analysis(
    track_id: uuid.UUID | str,
    bpm: float,
    key: str,
    key_confidence: float | None = None,
    key_alternative: str = "",
) -> bool:
    """Keep a track's key and tempo, once: the first separation to finish records them (a
    second model's job on the same track measures the same mix). Returns whether it did."""
    found = Track.objects.filter(id=track_id, bpm__isnull=True)
    return bool(
        found.update(
            bpm=bpm, key=key, key_confidence=key_confidence, key_alternative=key_alternative
        )
    )
