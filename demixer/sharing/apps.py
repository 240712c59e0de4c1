from django.apps import AppConfig


class SharingConfig(AppConfig):
    name = "demixer.sharing"
    label = "sharing"
