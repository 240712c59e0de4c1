"""Personal API tokens (a name, the prefix shown in lists, and the secret's SHA-256 only), which
token started a job, and the webhook deliveries."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from demixer.jobs.status import Status


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


class WebhookDelivery(models.Model):
    """One try at telling a token's webhook that a job ended: a job of the state machine
    (:mod:`demixer.jobs`), run on the workers' webhook lane; a failed try queues the next one,
    due after a back-off (``run_after``)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    token = models.ForeignKey(ApiToken, on_delete=models.CASCADE, related_name="deliveries")
    separation_id = models.UUIDField(help_text="the job that ended (it may be deleted since)")
    event = models.CharField(max_length=12, help_text="how it ended: done, failed, cancelled")
    attempt = models.PositiveSmallIntegerField(default=1)
    run_after = models.DateTimeField(default=timezone.now, db_index=True)
    # the job machine's fields
    status = models.CharField(
        max_length=12, choices=Status.choices, default=Status.QUEUED, db_index=True
    )
    progress = models.FloatField(default=0.0)
    error = models.CharField(max_length=300, blank=True, help_text="why this try failed")
    attempts = models.PositiveSmallIntegerField(default=0, help_text="claims (worker deaths)")
    worker_id = models.CharField(max_length=64, blank=True)
    heartbeat = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    finished = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created",)

    def __str__(self) -> str:
        return f"{self.separation_id} → {self.token_id} #{self.attempt} ({self.status})"
