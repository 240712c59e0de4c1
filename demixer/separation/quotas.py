"""Per-user quotas: how many jobs one user may have waiting, how much they may store, and how
many minutes of audio they may have separated in any 24 hours (0 turns a limit off).

Checked wherever a new job would be created (:func:`demixer.separation.services.start`), and for
a whole upload before any of it is stored. A refusal is one sentence that names the limit and
says how it frees up. Where jobs are added (:func:`demixer.separation.services.start`) the count
and the insert run in one transaction under :func:`lock_owner`, so requests of one user racing
each other stop exactly at the limit; the check of a whole upload before anything is stored is
only the early answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Sum
from django.template.defaultfilters import filesizeformat, pluralize
from django.utils import timezone
from django.utils.timesince import timeuntil

from demixer.separation.models import ACTIVE, Separation, Status, Stem
from demixer.tracks.models import Track

DAY = timedelta(hours=24)
MB = 1024 * 1024  # as the upload limit and filesizeformat count


class QuotaExceeded(Exception):
    """A new job would pass one of its owner's limits; ``str()`` is the message for them."""


def check(
    owner_id: int, durations: Sequence[float], new_bytes: int = 0, now: datetime | None = None
) -> None:
    """Raise :class:`QuotaExceeded` if new jobs of these durations (seconds), with ``new_bytes``
    of new originals, would pass one of the owner's limits."""
    if not durations and not new_bytes:
        return  # nothing new (an upload that only leads to results the owner already has)
    _check_waiting(owner_id, len(durations))
    _check_storage(owner_id, new_bytes)
    _check_minutes(owner_id, durations, now or timezone.now())


def lock_owner(owner_id: int) -> None:
    """Hold the owner's row until the transaction ends, so that another request of theirs
    counting jobs waits for this one's insert (PostgreSQL: ``SELECT ... FOR UPDATE``). SQLite
    has no row locks, but here every transaction begins with ``BEGIN IMMEDIATE`` (settings'
    ``transaction_mode``): the write lock, taken before the count, does the same."""
    list(get_user_model().objects.select_for_update().filter(pk=owner_id).values_list("pk"))


def _check_waiting(owner_id: int, adding: int) -> None:
    limit = settings.MAX_QUEUED_PER_USER
    if limit <= 0 or adding == 0:
        return
    waiting = Separation.objects.filter(track__owner_id=owner_id, status__in=ACTIVE).count()
    if waiting + adding <= limit:
        return
    these = "" if adding == 1 else f" and these files would add {adding}"
    raise QuotaExceeded(
        f"Queue limit: you have {waiting} separation{pluralize(waiting)} waiting or running"
        f"{these}; {limit} at a time is the limit. Start more when "
        f"{'one has' if adding == 1 else 'some have'} finished."
    )


def storage_used(owner_id: int) -> int:
    """Bytes of the owner's originals and stems (cached download conversions not counted)."""
    originals = Track.objects.filter(owner_id=owner_id).aggregate(n=Sum("size"))["n"]
    stems = Stem.objects.filter(separation__track__owner_id=owner_id).aggregate(n=Sum("size"))["n"]
    return (originals or 0) + (stems or 0)


def _check_storage(owner_id: int, new_bytes: int) -> None:
    if settings.STORAGE_MB_PER_USER <= 0:
        return
    limit = settings.STORAGE_MB_PER_USER * MB
    used = storage_used(owner_id)
    if used + new_bytes <= limit:
        return
    adding = f" and this upload needs {filesizeformat(new_bytes)}" if new_bytes else ""
    raise QuotaExceeded(
        f"Storage limit: your tracks and stems take {filesizeformat(used)} of your "
        f"{filesizeformat(limit)}{adding}. Delete tracks you no longer need to make room."
    )


def _check_minutes(owner_id: int, durations: Sequence[float], now: datetime) -> None:
    limit = settings.MINUTES_PER_DAY * 60
    need = sum(durations)
    if limit <= 0 or need == 0:
        return
    if need > limit:
        raise QuotaExceeded(
            f"Daily limit: these tracks are {_minutes(need)} long, more than the {_minutes(limit)}"
            " of audio you may separate in 24 hours. Upload fewer at once."
        )
    counted = _counted_today(owner_id, now)
    used = sum(duration for _, duration in counted)
    if used + need <= limit:
        return
    # the moment enough of the window's jobs have aged out of it for this one to fit
    fits_at, freed = now + DAY, 0.0
    for created, duration in counted:
        freed += duration
        if used - freed + need <= limit:
            fits_at = created + DAY
            break
    raise QuotaExceeded(
        f"Daily limit: you have separated {_minutes(used)} of your {_minutes(limit)} of audio "
        f"in the last 24 hours and this needs {_minutes(need)}; it fits again in "
        f"{timeuntil(fits_at, now)}."
    )


def _counted_today(owner_id: int, now: datetime) -> list[tuple[datetime, float]]:
    """(created, seconds of audio) of the owner's jobs that count against the daily limit."""
    return list(
        Separation.objects.filter(
            track__owner_id=owner_id,
            created__gt=now - DAY,
            status__in=[*ACTIVE, Status.DONE],
        )
        .order_by("created")
        .values_list("created", "track__duration")
    )


@dataclass(frozen=True)
class Usage:
    """What the limits count for one owner, for the library to show (a limit of 0: none)."""

    storage_bytes: int
    storage_limit_bytes: int
    seconds_today: float
    seconds_limit: float
    waiting: int
    waiting_limit: int

    @property
    def storage_text(self) -> str:
        used = filesizeformat(self.storage_bytes)
        if self.storage_limit_bytes <= 0:
            return f"{used} stored"
        return f"{used} of {filesizeformat(self.storage_limit_bytes)} stored"

    @property
    def minutes_text(self) -> str:
        used = _minutes(self.seconds_today)
        if self.seconds_limit <= 0:
            return f"{used} separated in the last 24 hours"
        return f"{used} of {_minutes(self.seconds_limit)} separated in the last 24 hours"

    @property
    def storage_fraction(self) -> float | None:
        if self.storage_limit_bytes <= 0:
            return None
        return min(1.0, self.storage_bytes / self.storage_limit_bytes)


def usage(owner_id: int, now: datetime | None = None) -> Usage:
    """The owner's standing against each limit, counted as :func:`check` counts it."""
    counted = _counted_today(owner_id, now or timezone.now())
    return Usage(
        storage_bytes=storage_used(owner_id),
        storage_limit_bytes=max(0, settings.STORAGE_MB_PER_USER) * MB,
        seconds_today=sum(duration for _, duration in counted),
        seconds_limit=max(0, settings.MINUTES_PER_DAY) * 60,
        waiting=Separation.objects.filter(track__owner_id=owner_id, status__in=ACTIVE).count(),
        waiting_limit=max(0, settings.MAX_QUEUED_PER_USER),
    )


def _minutes(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.1f}".removesuffix(".0") + " min"
