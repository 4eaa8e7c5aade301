from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "leadline.accounts"
    label = "accounts"
