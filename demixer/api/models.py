"""Personal API tokens: a name, the prefix shown in lists, and the secret's SHA-256 only."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class ApiToken(models.Model):
    """One personal token. The secret is shown once, at creation; the row keeps its digest, so
    a leaked database does not leak working tokens."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=60)
    prefix = models.CharField(max_length=16, help_text="the token's first characters, to tell it")
    digest = models.CharField(max_length=64, unique=True, help_text="SHA-256 of the whole token")
    created = models.DateTimeField(auto_now_add=True)
    last_used = models.DateTimeField(null=True, blank=True)
    revoked = models.DateTimeField(null=True, blank=True)
    # where to POST when a job this token started ends; signed with the secret (HMAC-SHA256)
    webhook_url = models.URLField(max_length=500, blank=True)
    webhook_secret = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ("-created",)

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class JobOrigin(models.Model):
    """Which token started a job (or asked for it again): whose webhook hears when it ends."""

    separation = models.OneToOneField(
        "separation.Separation", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    token = models.ForeignKey(ApiToken, on_delete=models.CASCADE, related_name="+")

    def __str__(self) -> str:
        return f"{self.separation_id} from {self.token_id}"
