from django.apps import AppConfig


class DialerConfig(AppConfig):
    name = "leadline.dialer"
    label = "dialer"

    def ready(self) -> None:
        # Erasing a lead (a leads service) must reach its call attempts and recordings.
        from leadline.leads import hooks

        from .services import calls_erase_for_lead, calls_erasure_pending

        hooks.register_erasure_hook(calls_erase_for_lead)
        # Its receipt stays pending until the provider's copies are deleted too.
        hooks.register_erasure_pending_check(calls_erasure_pending)
        # A lead's conversion (a leads service) counts in its campaign's daily report.
        from .reports import CONVERSIONS

        hooks.register_event_recorder(CONVERSIONS)

        # DND status from the providers' number lookup (compliance cannot import the dialer).
        from leadline.compliance.dnd import register_source

        from .dnd import ProviderDndSource

        register_source(ProviderDndSource())
