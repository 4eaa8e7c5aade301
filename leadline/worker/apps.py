from django.apps import AppConfig


class WorkerConfig(AppConfig):
    name = "leadline.worker"
    label = "worker"
