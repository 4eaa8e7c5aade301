"""`leadline campaign show|set`: a campaign's calling configuration without the admin."""

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from leadline.campaigns import validation
from leadline.campaigns.models import Campaign
from leadline.campaigns.services import campaign_settings_update
from leadline.core.errors import ApiError


def _whole_number(field: str) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            return int(text.strip())
        except ValueError:
            raise validation.InvalidSetting(field, f"{text!r} is not a whole number.") from None

    return parse


@dataclass(frozen=True)
class Setting:
    """One `set` option: its flag, the campaign_settings_update argument it feeds, and how
    its text becomes that argument's value (raising InvalidSetting). A later setting
    (`--dial-mode`, say) is one more row here and one more argument of the service."""

    flag: str
    argument: str
    parse: Callable[[str], Any]
    metavar: str
    help: str


SETTINGS = (
    Setting(
        "--window-start",
        "window_start",
        lambda text: validation.clock_time_parse("window_start", text),
        "HH:MM",
        "first minute of the calling window, local time (24-hour)",
    ),
    Setting(
        "--window-end",
        "window_end",
        lambda text: validation.clock_time_parse("window_end", text),
        "HH:MM",
        "end of the calling window (after the start, the same day)",
    ),
    Setting(
        "--days",
        "days",
        validation.weekdays_parse,
        "mon,tue,...",
        "weekdays calls are allowed, e.g. mon,tue,wed,thu,fri,sat",
    ),
    Setting(
        "--timezone",
        "timezone",
        str,
        "ZONE",
        "IANA time zone of the window, e.g. Asia/Kolkata",
    ),
    Setting(
        "--max-attempts",
        "max_attempts",
        _whole_number("max_attempts"),
        "N",
        "calls per lead before it is processed as not reached (1 or more)",
    ),
    Setting(
        "--ring-seconds",
        "ring_seconds",
        _whole_number("max_ring_seconds"),
        "N",
        "how long each phone may ring, {}-{} seconds".format(*validation.RING_SECONDS_RANGE),
    ),
    Setting(
        "--max-call-seconds",
        "max_call_seconds",
        _whole_number("max_call_seconds"),
        "N",
        "a bridged call's time limit, {}-{} seconds".format(*validation.CALL_SECONDS_RANGE),
    ),
    Setting(
        "--category",
        "category",
        validation.category_clean,
        "service|promotional",
        "promotional campaigns never dial DND (NCPR) numbers without the person's consent",
    ),
    Setting(
        "--dial-mode",
        "dial_mode",
        validation.dial_mode_clean,
        "preview|progressive",
        "preview: the rep presses Call; progressive: the console calls after a countdown",
    ),
    Setting(
        "--preview-seconds",
        "preview_seconds",
        _whole_number("preview_seconds"),
        "N",
        "progressive: seconds the card shows before the call, {}-{}".format(
            *validation.PREVIEW_SECONDS_RANGE
        ),
    ),
    Setting(
        "--wrap-up-seconds",
        "wrap_up_seconds",
        _whole_number("wrap_up_seconds"),
        "N",
        "time to record an outcome before it counts as too long, {}-{} seconds".format(
            *validation.WRAP_UP_SECONDS_RANGE
        ),
    ),
    Setting(
        "--callback-grace-minutes",
        "callback_grace_minutes",
        _whole_number("callback_grace_minutes"),
        "N",
        "a personal callback waits this long for its rep, then goes to anyone",
    ),
)


# The setting an InvalidSetting names (a model field) as the option that sets it.
FIELD_FLAGS = {
    "window_start": "--window-start",
    "window_end": "--window-end",
    "window_days": "--days",
    "timezone": "--timezone",
    "max_attempts": "--max-attempts",
    "max_ring_seconds": "--ring-seconds",
    "max_call_seconds": "--max-call-seconds",
    "category": "--category",
    "dial_mode": "--dial-mode",
    "preview_seconds": "--preview-seconds",
    "wrap_up_seconds": "--wrap-up-seconds",
    "callback_grace_minutes": "--callback-grace-minutes",
}


def calling_configuration(campaign: Campaign) -> dict[str, Any]:
    """What `show` prints; the keys match `set`'s options where there is one."""
    account = campaign.telephony_account
    return {
        "campaign_id": campaign.public_id,
        "name": campaign.name,
        "business_id": campaign.business_id,
        "business": campaign.business.name,
        "status": campaign.status,
        "category": campaign.category,
        "window_start": campaign.window_start.strftime("%H:%M"),
        "window_end": campaign.window_end.strftime("%H:%M"),
        "days": validation.weekdays_format(campaign.window_days),
        "timezone": campaign.timezone,
        "max_attempts": campaign.max_attempts,
        "retry_delays_minutes": campaign.retry_delays_minutes,
        "lease_minutes": campaign.lease_minutes,
        "telephony_account_id": account.pk if account else None,
        # Without an account the campaign calls through the configured default provider.
        "provider": account.provider if account else _default_provider_name(),
        "caller_id": campaign.caller_id,
        "ring_seconds": campaign.max_ring_seconds,
        "max_call_seconds": campaign.max_call_seconds,
        "dial_mode": campaign.dial_mode,
        "preview_seconds": campaign.preview_seconds,
        "wrap_up_seconds": campaign.wrap_up_seconds,
        "callback_grace_minutes": campaign.callback_grace_minutes,
        "lead_count": campaign.lead_count,
    }


def _default_provider_name() -> str:
    # The class path's module names the provider (…telephony.simulator.SimulatorProvider);
    # the dialer's module is not imported here (campaigns sit below the dialer).
    path: str = settings.LEADLINE_TELEPHONY_PROVIDER
    return "default: " + (path.rsplit(".", 2)[-2] if path.count(".") >= 2 else path)


class Command(BaseCommand):
    help = "Show or change a campaign's calling configuration (window, attempts, telephony)."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        show = sub.add_parser("show", help="print the campaign's calling configuration")
        show.add_argument("campaign_id", help="campaign public id, e.g. 7KQ2MX")
        show.add_argument("--json", action="store_true", help="print one JSON object")
        change = sub.add_parser(
            "set",
            help="change calling settings; every value is checked first, then all are saved",
        )
        change.add_argument("campaign_id", help="campaign public id, e.g. 7KQ2MX")
        for setting in SETTINGS:
            change.add_argument(
                setting.flag, dest=setting.argument, metavar=setting.metavar, help=setting.help
            )
        change.add_argument("--json", action="store_true", help="print one JSON object")
        change.epilog = (
            "The telephony account and caller ID are set with `leadline telephony use`; "
            "script, outcomes and reps in the admin."
        )

    def handle(self, *args, action, campaign_id, **options):
        public_id = validation.public_id_clean(campaign_id)
        campaign = (
            Campaign.objects.select_related("business", "telephony_account")
            .filter(public_id=public_id)
            .first()
            if public_id
            else None
        )
        if campaign is None:
            raise CommandError(f"No campaign with id {campaign_id!r}.")
        if action == "set":
            given = {s.argument: (s, options[s.argument]) for s in SETTINGS}
            given = {k: v for k, v in given.items() if v[1] is not None}
            if not given:
                raise CommandError(
                    "Nothing to set; give at least one of "
                    + ", ".join(s.flag for s in SETTINGS)
                    + "."
                )
            try:
                values = {name: setting.parse(text) for name, (setting, text) in given.items()}
                campaign_settings_update(campaign=campaign, **values)
            except validation.InvalidSetting as exc:
                flag = FIELD_FLAGS.get(exc.field)
                prefix = f"{flag}: " if flag else ""
                raise CommandError(f"{prefix}{exc.detail} Nothing was changed.") from None
            except ApiError as exc:
                raise CommandError(f"{exc.detail} Nothing was changed.") from None
        config = calling_configuration(campaign)
        if options["json"]:
            self.stdout.write(json.dumps(config))
        else:
            for key, value in config.items():
                if isinstance(value, list):
                    value = ",".join(str(v) for v in value)
                self.stdout.write(f"{key}: {'' if value is None else value}")
