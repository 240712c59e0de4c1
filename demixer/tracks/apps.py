from django.apps import AppConfig


class TracksConfig(AppConfig):
    name = "demixer.tracks"
    label = "tracks"
