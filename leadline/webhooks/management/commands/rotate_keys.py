from django.core.management.base import BaseCommand, CommandError

from leadline.webhooks.rotation import endpoint_secrets_reencrypt, telephony_credentials_reencrypt


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored webhook secret and telephony credential under "
        "LEADLINE_ENCRYPTION_KEY (run after rotating it, with the old key in "
        "LEADLINE_ENCRYPTION_KEY_FALLBACKS; then drop it)."
    )

    def handle(self, *args, **options):
        try:
            count = endpoint_secrets_reencrypt()
            accounts = telephony_credentials_reencrypt()
        except ValueError as exc:
            raise CommandError(
                f"{exc}: put every key still in use in LEADLINE_ENCRYPTION_KEY_FALLBACKS"
            ) from None
        self.stdout.write(
            f"Re-encrypted the secrets of {count} webhook endpoints and the credentials of "
            f"{accounts} telephony accounts."
        )
