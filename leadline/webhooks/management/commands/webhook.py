import json
import signal
import threading
import time
from datetime import UTC, datetime
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from leadline.accounts.models import Business
from leadline.campaigns.models import Campaign
from leadline.core.errors import ApiError
from leadline.webhooks import listener, services
from leadline.webhooks.models import SUBSCRIBABLE_TYPES, Delivery, WebhookEndpoint


def _when(value: str) -> datetime:
    try:
        if value.replace(".", "", 1).isdigit():
            return datetime.fromtimestamp(float(value), tz=UTC)
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise CommandError("--failed-since takes epoch seconds or an ISO 8601 time") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _interrupt(signum, frame):
    raise KeyboardInterrupt


class Command(BaseCommand):
    help = "Manage webhook endpoints, redeliver webhooks, and listen for them locally."

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
        listen = sub.add_parser(
            "listen",
            help="receive a campaign's webhooks locally while it runs: verify and print each "
            "(or forward it to --forward URL); the temporary endpoint is removed on exit",
        )
        listen.add_argument("--campaign", required=True, help="campaign id (public)")
        listen.add_argument("--port", type=int, default=0, help="local port (default: any free)")
        listen.add_argument("--forward", help="pass each verified delivery on to this URL")
        listen.add_argument(
            "--events", nargs="*", help="event types (default: every type, optional ones too)"
        )
        listen.add_argument("--json", action="store_true", help="one JSON object per event")

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

    def _listen(self, *, campaign, port, forward, events, **options):
        found = Campaign.objects.select_related("business").filter(public_id=campaign).first()
        if found is None:
            raise CommandError(f"No campaign {campaign}.")
        if not settings.LEADLINE_WEBHOOK_ALLOW_PRIVATE:
            raise CommandError(
                "The listener receives on 127.0.0.1, a private address, which webhooks may only "
                "reach with LEADLINE_WEBHOOK_ALLOW_PRIVATE=1 (set for this command and for the "
                "worker; `make run` sets it). Never set it in production."
            )
        if not 0 <= port <= 65535:
            raise CommandError("--port must be between 0 and 65535.")
        if forward and urlsplit(forward).scheme not in {"http", "https"}:
            raise CommandError("--forward must be an http or https URL.")
        write_lock = threading.Lock()

        def show(received: listener.Received) -> None:
            line = json.dumps(received.as_dict()) if options["json"] else received.line()
            with write_lock:
                self.stdout.write(line)
                self.stdout.flush()

        try:
            receiver = listener.Listener(secret="", on_event=show, port=port, forward_url=forward)
        except OSError as exc:
            raise CommandError(f"Cannot listen on 127.0.0.1:{port}: {exc.strerror}.") from None
        types = events or [t.value for t in SUBSCRIBABLE_TYPES]
        created = services.endpoint_create(
            business=found.business, url=receiver.url, campaign=found, event_types=types
        )
        receiver.secret = created.secret
        banner = {
            "endpoint_id": created.endpoint.pk,
            "url": receiver.url,
            "secret": created.secret,
            "campaign_id": found.public_id,
            "event_types": created.endpoint.event_types,
            "forward": forward,
        }
        if options["json"]:
            self.stdout.write(json.dumps({"listening": banner}))
        else:
            self.stdout.write(
                f"Listening for campaign {found.public_id}'s webhooks on {receiver.url} "
                f"(endpoint {created.endpoint.pk}; {', '.join(banner['event_types'])}).\n"
                f"Signing secret (for your own handler): {created.secret}\n"
                + (f"Forwarding verified deliveries to {forward}.\n" if forward else "")
                + "Ctrl-C stops and removes the endpoint."
            )
        self.stdout.flush()
        # SIGTERM ends it like Ctrl-C, so the endpoint is removed either way.
        previous = signal.signal(signal.SIGTERM, _interrupt)
        receiver.start()
        try:
            while True:
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            signal.signal(signal.SIGTERM, previous)
            receiver.stop()
            services.endpoint_remove(endpoint=created.endpoint)
            if options["json"]:
                self.stdout.write(json.dumps({"removed": created.endpoint.pk}))
            else:
                self.stdout.write(f"Stopped; endpoint {created.endpoint.pk} removed.")

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
