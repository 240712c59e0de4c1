"""Turning a checked upload into a Track (stored once per user and content) and a job."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction

from demixer.separation import services as separations
from demixer.separation.models import Quality, Separation
from demixer.tracks.forms import CheckedUpload
from demixer.tracks.models import Track


def add_upload(
    owner: AbstractBaseUser,
    checked: CheckedUpload,
    two_stems: str = "",
    quality: str = Quality.DEFAULT,
) -> tuple[Separation, bool]:
    """The separation for this upload; ``reused`` when the same content with the same options
    was already separated (or is on its way) for this user, in which case nothing is stored."""
    track = Track.objects.filter(owner=owner, sha256=checked.sha256).first()
    if track is None:
        track = _store(owner, checked)
    return separations.start(track, two_stems, quality)


def _store(owner: AbstractBaseUser, checked: CheckedUpload) -> Track:
    info = checked.info
    track = Track(
        owner=owner,
        title=checked.title,
        original_name=(checked.upload.name or "")[:255],
        sha256=checked.sha256,
        size=checked.upload.size or 0,
        duration=info.duration,
        sample_rate=info.rate,
        channels=info.channels,
        codec=info.codec[:40],
    )
    track.original.save(checked.upload.name or "upload", checked.upload, save=False)
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
