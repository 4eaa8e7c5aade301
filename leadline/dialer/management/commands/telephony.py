"""`leadline telephony add|use|list|check`: businesses' telephony accounts.

In the dialer app, not campaigns, because `check` builds the provider and calls it, and the
providers are dialer code (campaigns sit below the dialer in the layers).
"""

import json
import os
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Prefetch

from leadline.accounts.models import Business
from leadline.campaigns import validation
from leadline.campaigns.models import Campaign, TelephonyAccount
from leadline.campaigns.services import (
    campaign_telephony_use,
    telephony_account_check_record,
    telephony_account_create,
)
from leadline.core.errors import ApiError
from leadline.dialer.telephony import ProviderError, provider_for
from leadline.dialer.telephony.accounts import line_for_account

# Credentials may come from the environment instead of the command line, where any user of
# the machine can read them (ps, /proc/<pid>/cmdline) and the shell's history keeps them.
CREDENTIAL_OPTIONS = {
    # credential name: (flag, environment variable)
    "api_key": ("--api-key", "LEADLINE_TELEPHONY_API_KEY"),
    "api_token": ("--api-token", "LEADLINE_TELEPHONY_API_TOKEN"),
    "auth_token": ("--auth-token", "LEADLINE_TELEPHONY_AUTH_TOKEN"),
}


def _account_row(account: TelephonyAccount) -> dict[str, Any]:
    """What `list` shows of an account: everything but its credentials."""
    return {
        "account_id": account.pk,
        "business_id": account.business_id,
        "business": account.business.name,
        "name": account.name,
        "provider": account.provider,
        "account_sid": account.account_sid,
        "caller_ids": account.caller_ids,
        "api_url": account.effective_api_url,
        "campaigns": [c.public_id for c in account.campaigns.all()],
        "checked_at": account.checked_at.isoformat() if account.checked_at else None,
        "check_result": account.check_result,
    }


class Command(BaseCommand):
    help = (
        "Add businesses' telephony accounts (Exotel, Twilio), point campaigns at them, check them."
    )

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)

        add = sub.add_parser(
            "add",
            help="add a business's account with a provider (credentials stored encrypted)",
        )
        add.add_argument("--business", type=int, required=True, help="business id")
        add.add_argument("--provider", required=True, choices=TelephonyAccount.Provider.values)
        add.add_argument(
            "--account-sid",
            default="",
            help="Exotel: the Account SID; Twilio: the Account SID (AC + 32 hex digits)",
        )
        for name, (flag, env) in CREDENTIAL_OPTIONS.items():
            provider = "Twilio" if name == "auth_token" else "Exotel"
            add.add_argument(
                flag,
                dest=name,
                help=f"{provider} {name.replace('_', ' ')}; visible to other users of this "
                f"machine on a command line: prefer ${env}",
            )
        add.add_argument(
            "--caller-id",
            dest="caller_ids",
            action="append",
            default=[],
            metavar="NUMBER",
            help="a number the account owns (ExoPhone, Twilio number) in E.164, any country; "
            "repeat for several (the first is campaigns' default)",
        )
        add.add_argument(
            "--api-url",
            default="",
            help="the provider's API base (default: its documented one, e.g. "
            "https://api.exotel.com; Exotel's Mumbai cluster is https://api.in.exotel.com)",
        )
        add.add_argument("--name", default="", help="a label for operators")
        add.add_argument("--json", action="store_true", help="print one JSON object")
        add.epilog = (
            "Each credential comes from its flag or from its environment variable ("
            + ", ".join(f"{flag}: ${env}" for flag, env in CREDENTIAL_OPTIONS.values())
            + "), not both. It is stored encrypted and never printed."
        )

        use = sub.add_parser("use", help="call a campaign's leads through an account")
        use.add_argument("--campaign", required=True, help="campaign public id, e.g. 7KQ2MX")
        use.add_argument("--account", type=int, required=True, help="telephony account id")
        use.add_argument(
            "--caller-id",
            help="the number leads see: one of the account's (default: its first)",
        )
        use.add_argument("--json", action="store_true", help="print one JSON object")

        listing = sub.add_parser("list", help="every account (never its credentials)")
        listing.add_argument("--json", action="store_true", help="print one JSON object")

        check = sub.add_parser(
            "check",
            help="one authenticated read at the provider (no call is placed); the result is "
            "kept on the account",
        )
        check.add_argument("account_id", type=int)
        check.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args, action, **options):
        try:
            getattr(self, f"_{action}")(**options)
        except ApiError as exc:
            raise CommandError(exc.detail) from None

    def _emit(self, result: dict[str, Any], as_json: bool, line: str) -> None:
        self.stdout.write(json.dumps(result) if as_json else line)

    def _credentials(self, provider: str, options: dict[str, Any]) -> dict[str, str]:
        """The credentials given by flag or environment. A flag the provider does not take
        is refused; an environment variable it does not take is ignored (one shell may
        hold both providers' variables)."""
        wanted = TelephonyAccount.CREDENTIAL_NAMES[provider]
        credentials: dict[str, str] = {}
        for name, (flag, env) in CREDENTIAL_OPTIONS.items():
            from_flag, from_env = options.get(name), os.environ.get(env) or None
            if from_flag is not None and name not in wanted:
                takes = " and ".join(CREDENTIAL_OPTIONS[n][0] for n in wanted) or "no credentials"
                raise CommandError(
                    f"{flag} is not a {provider} credential; {provider} takes {takes}."
                )
            if name not in wanted:
                continue
            if from_flag is not None and from_env is not None:
                raise CommandError(
                    f"Give the {name.replace('_', ' ')} one way: ${env} is set as well as {flag}."
                )
            value = from_flag if from_flag is not None else from_env
            if value is None:
                raise CommandError(f"{provider} needs {flag} (or ${env}).")
            credentials[name] = value
        return credentials

    def _add(self, *, business, provider, account_sid, caller_ids, api_url, name, **options):
        owner = Business.objects.filter(pk=business).first()
        if owner is None:
            raise CommandError(f"No business {business}.")
        account = telephony_account_create(
            business=owner,
            provider=provider,
            account_sid=account_sid,
            credentials=self._credentials(provider, options),
            caller_ids=caller_ids,
            api_url=api_url,
            name=name,
        )
        self._emit(
            {"account_id": account.pk},
            options["json"],
            f"account {account.pk}: {account.get_provider_display()} {account.account_sid} "
            f"for {owner.name}, caller IDs {', '.join(account.caller_ids) or 'none'}, "
            f"API {account.effective_api_url or 'none'}; "
            f"next: leadline telephony check {account.pk}",
        )

    def _use(self, *, campaign, account, caller_id, **options):
        public_id = validation.public_id_clean(campaign)
        found = Campaign.objects.filter(public_id=public_id).first() if public_id else None
        if found is None:
            raise CommandError(f"No campaign with id {campaign!r}.")
        telephony_account = TelephonyAccount.objects.filter(pk=account).first()
        if telephony_account is None:
            raise CommandError(f"No telephony account {account}.")
        updated = campaign_telephony_use(
            campaign=found, account=telephony_account, caller_id=caller_id
        )
        self._emit(
            {
                "campaign_id": updated.public_id,
                "account_id": telephony_account.pk,
                "provider": telephony_account.provider,
                "caller_id": updated.caller_id,
            },
            options["json"],
            f"campaign {updated.public_id} calls through account {telephony_account.pk} "
            f"({telephony_account.get_provider_display()}), caller ID "
            f"{updated.caller_id or 'none'}",
        )

    def _list(self, **options):
        accounts = TelephonyAccount.objects.select_related("business").prefetch_related(
            Prefetch("campaigns", queryset=Campaign.objects.order_by("public_id"))
        )
        rows = [_account_row(account) for account in accounts]
        if options["json"]:
            self.stdout.write(json.dumps({"accounts": rows}))
            return
        for row in rows:
            checked = (
                f"checked {row['checked_at']}: {row['check_result']}"
                if row["checked_at"]
                else "never checked"
            )
            self.stdout.write(
                f"{row['account_id']}  {row['business']} (business {row['business_id']})  "
                f"{row['provider']}  {row['account_sid'] or '-'}  "
                f"caller IDs {','.join(row['caller_ids']) or '-'}  {row['api_url'] or '-'}  "
                f"campaigns {','.join(row['campaigns']) or '-'}  {checked}"
            )

    def _check(self, *, account_id, **options):
        account = TelephonyAccount.objects.filter(pk=account_id).first()
        if account is None:
            raise CommandError(f"No telephony account {account_id}.")
        try:
            provider = provider_for(line_for_account(account))
            description = provider.check()
        except ProviderError as exc:
            # Kept on the account (the list and the admin show it), then a non-zero exit.
            telephony_account_check_record(account=account, ok=False, detail=exc.detail)
            raise CommandError(f"Check failed ({exc.kind}): {exc.detail}") from None
        except ImportError:
            raise CommandError(
                f"The {account.provider} provider is not available in this installation."
            ) from None
        telephony_account_check_record(account=account, ok=True, detail=description)
        self._emit(
            {
                "account_id": account.pk,
                "ok": True,
                "result": description,
                "checked_at": account.checked_at.isoformat() if account.checked_at else None,
            },
            options["json"],
            f"account {account.pk}: OK: {description}",
        )
