from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    name = "leadline.console"
    label = "console"
