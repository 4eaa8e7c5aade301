from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "leadline.dashboard"
    label = "dashboard"
    verbose_name = "Client dashboard"
