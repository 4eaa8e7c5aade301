from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "leadline.accounts"
    label = "accounts"

    def ready(self) -> None:
        from django.contrib.admin.models import LogEntry
        from django.db.models.signals import post_save

        from .audit import admin_log_entry_record

        def record(sender, instance, created, **kwargs):
            # The admin writes a LogEntry for every add, change and delete an operator makes;
            # the audit trail copies it, so no ModelAdmin has to remember to.
            if created and not kwargs.get("raw"):
                admin_log_entry_record(instance)

        post_save.connect(record, sender=LogEntry, weak=False, dispatch_uid="audit_admin_log_entry")
