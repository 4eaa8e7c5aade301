from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "leadline.webhooks"
    label = "webhooks"

    def ready(self) -> None:
        # Lead events go into the outbox, and erasure scrubs what the outbox stored.
        from leadline.leads import hooks

        from .services import OUTBOX, events_scrub_for_lead

        hooks.register_event_recorder(OUTBOX)
        hooks.register_erasure_hook(events_scrub_for_lead)
