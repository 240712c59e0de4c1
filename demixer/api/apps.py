"""The JSON API (v1), its personal tokens and their webhooks."""

from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "demixer.api"
    label = "api"

    def ready(self) -> None:
        from demixer.api import webhooks
        from demixer.separation.signals import job_ended

        job_ended.connect(webhooks.job_ended, dispatch_uid="api-webhooks")
