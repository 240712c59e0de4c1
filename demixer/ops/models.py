"""The throttles' counts, when no Redis is configured: in the database every web process and
host already shares, so one count holds across processes and restarts."""

from __future__ import annotations

from django.db import models


class ThrottleCount(models.Model):
    """How many events one key (a throttle's name and a digest of what it counts: an address,
    a user) has had in one fixed window."""

    key = models.CharField(max_length=80)
    window = models.BigIntegerField(help_text="the window's start, in seconds since the epoch")
    count = models.PositiveIntegerField(default=0)
    expires = models.DateTimeField(db_index=True, help_text="when the window has ended")

    class Meta:
        constraints = [  # noqa: RUF012 - Django's Meta
            models.UniqueConstraint(fields=["key", "window"], name="one_count_per_key_and_window")
        ]

    def __str__(self) -> str:
        return f"{self.key} at {self.window}: {self.count}"
