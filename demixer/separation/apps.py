from django.apps import AppConfig


class SeparationConfig(AppConfig):
    name = "demixer.separation"
    label = "separation"
