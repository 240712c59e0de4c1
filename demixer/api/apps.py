"""The JSON API (v1), its personal tokens and their webhooks."""

from django.apps import AppConfig
from django.conf import settings


class ApiConfig(AppConfig):
    name = "demixer.api"
    label = "api"

    def ready(self) -> None:
        # models and receivers: importable once the apps are loaded
        from demixer.api import webhooks
        from demixer.jobs import loop
        from demixer.jobs.signals import job_ended
        from demixer.separation.models import Separation

        job_ended.connect(webhooks.job_ended, sender=Separation, dispatch_uid="api-webhooks")
        threads = settings.WEBHOOK_THREADS
        loop.register(loop.Lane("webhook", webhooks.take_next, interval=1.0, threads=threads))
