from django.apps import AppConfig


class DialerConfig(AppConfig):
    name = "leadline.dialer"
    label = "dialer"
