from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "demixer.ops"
    label = "ops"
