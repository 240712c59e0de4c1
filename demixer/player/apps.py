from django.apps import AppConfig


class PlayerConfig(AppConfig):
    name = "demixer.player"
    label = "player"
