from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "demixer.api"
    label = "api"
