from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "demixer.accounts"
    label = "accounts"
