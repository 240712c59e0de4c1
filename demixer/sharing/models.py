"""A share link: which separation, what it lets a visitor download, until when; the secret's
SHA-256 only, so the database never holds a working link."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from demixer.separation.models import Separation


class ShareLink(models.Model):
    """One read-only link to one separation. The secret is shown once, when it is made."""

    separation = models.ForeignKey(Separation, on_delete=models.CASCADE, related_name="share_links")
    prefix = models.CharField(max_length=16, help_text="the token's first characters, to tell it")
    digest = models.CharField(max_length=64, unique=True, help_text="SHA-256 of the whole token")
    # what a visitor may download besides listening (the previews are always there)
    allow_stems = models.BooleanField(default=True, help_text="each stem, and the instrumental")
    allow_zip = models.BooleanField(default=True, help_text="all stems in one zip")
    allow_mix = models.BooleanField(default=False, help_text="a mix rendered from the player")
    created = models.DateTimeField(auto_now_add=True)
    expires = models.DateTimeField(null=True, blank=True, help_text="empty: never")
    revoked = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created",)

    def __str__(self) -> str:
        return f"{self.separation_id} ({self.prefix}…)"

    @staticmethod
    def live_filter() -> Q:
        """The links that open now: not revoked, not expired."""
        return Q(revoked__isnull=True) & (Q(expires__isnull=True) | Q(expires__gt=timezone.now()))

    @property
    def is_live(self) -> bool:
        return self.revoked is None and (self.expires is None or self.expires > timezone.now())

    @property
    def allowed(self) -> list[str]:
        """The downloads allowed, by name ("stems", "zip", "mix")."""
        flags = {"stems": self.allow_stems, "zip": self.allow_zip, "mix": self.allow_mix}
        return [name for name, on in flags.items() if on]
