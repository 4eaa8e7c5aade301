from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "leadline.webhooks"
    label = "webhooks"
