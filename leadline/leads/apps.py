from django.apps import AppConfig


class LeadsConfig(AppConfig):
    name = "leadline.leads"
    label = "leads"
