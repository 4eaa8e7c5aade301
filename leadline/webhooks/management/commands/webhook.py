import json
from datetime import UTC, datetime

from django.core.management.base import BaseCommand, CommandError

from leadline.accounts.models import Business
from leadline.campaigns.models import Campaign
from leadline.core.errors import ApiError
from leadline.webhooks import services
from leadline.webhooks.models import Delivery, WebhookEndpoint


def _when(value: str) -> datetime:
    try:
        if value.replace(".", "", 1).isdigit():
            return datetime.fromtimestamp(float(value), tz=UTC)
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise CommandError("--failed-since takes epoch seconds or an ISO 8601 time") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class Command(BaseCommand):
    help = "Manage webhook endpoints and redeliver webhooks."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        add = sub.add_parser("add", help="add an endpoint; prints its id and secret once")
        target = add.add_mutually_exclusive_group(required=True)
        target.add_argument("--campaign", help="campaign id (public)")
        target.add_argument("--business", type=int, help="business id: all its campaigns")
        add.add_argument("--url", required=True)
        add.add_argument("--events", nargs="*", help="event types (default lead.processed)")
        add.add_argument("--rate", type=int, help="requests per minute (default 100)")
        add.add_argument("--json", action="store_true")
        listing = sub.add_parser("list", help="list endpoints")
        listing.add_argument("--json", action="store_true")
        disable = sub.add_parser("disable", help="disable an endpoint")
        disable.add_argument("endpoint_id", type=int)
        redeliver = sub.add_parser("redeliver", help="send deliveries again")
        which = redeliver.add_mutually_exclusive_group(required=True)
        which.add_argument("delivery_id", nargs="?", type=int)
        which.add_argument("--failed-since", help="epoch seconds or ISO time")

    def handle(self, *args, action, **options):
        try:
            getattr(self, f"_{action}")(**options)
        except ApiError as exc:
            raise CommandError(exc.detail) from None

    def _add(self, *, campaign, business, url, events, rate, **options):
        if campaign:
            found = Campaign.objects.select_related("business").filter(public_id=campaign).first()
            if found is None:
                raise CommandError(f"No campaign {campaign}.")
            owner = found.business
        else:
            found = None
            any_owner = Business.objects.filter(pk=business).first()
            if any_owner is None:
                raise CommandError(f"No business {business}.")
            owner = any_owner
        created = services.endpoint_create(
            business=owner, url=url, campaign=found, event_types=events
        )
        if rate:
            WebhookEndpoint.objects.filter(pk=created.endpoint.pk).update(rate_per_minute=rate)
        result = {"endpoint_id": created.endpoint.pk, "secret": created.secret}
        if options["json"]:
            self.stdout.write(json.dumps(result))
        else:
            self.stdout.write(f"endpoint {result['endpoint_id']} secret {result['secret']}")

    def _list(self, **options):
        rows = [
            {
                "endpoint_id": e.pk,
                "business": e.business.name,
                "campaign_id": e.campaign.public_id if e.campaign else None,
                "url": e.url,
                "enabled": e.enabled,
                "disabled_reason": e.disabled_reason,
                "event_types": e.event_types,
            }
            for e in WebhookEndpoint.objects.select_related("business", "campaign")
        ]
        if options["json"]:
            self.stdout.write(json.dumps(rows))
        for row in [] if options["json"] else rows:
            state = "enabled" if row["enabled"] else f"disabled ({row['disabled_reason']})"
            self.stdout.write(
                f"{row['endpoint_id']}\t{row['campaign_id'] or '*'}\t{row['url']}\t{state}"
            )

    def _disable(self, *, endpoint_id, **options):
        endpoint = WebhookEndpoint.objects.filter(pk=endpoint_id).first()
        if endpoint is None:
            raise CommandError(f"No endpoint {endpoint_id}.")
        services.endpoint_disable(endpoint=endpoint, reason="Disabled by an operator.")
        self.stdout.write(f"Disabled endpoint {endpoint_id}.")

    def _redeliver(self, *, delivery_id, failed_since, **options):
        if delivery_id is not None:
            delivery = Delivery.objects.select_related("event").filter(pk=delivery_id).first()
            if delivery is None:
                raise CommandError(f"No delivery {delivery_id}.")
            services.delivery_redeliver(delivery=delivery)
            self.stdout.write(f"Delivery {delivery_id} queued again.")
            return
        count = services.deliveries_redeliver_failed(since=_when(failed_since))
        self.stdout.write(f"{count} failed deliveries queued again.")
