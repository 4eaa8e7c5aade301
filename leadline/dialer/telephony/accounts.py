"""TEMPORARY (replaced by the tel-cli branch's version at merge)."""

from leadline.campaigns.models import Campaign, TelephonyAccount

from . import Line


def line_for_account(account: TelephonyAccount, caller_id: str = "") -> Line:
    return Line(
        provider=account.provider,
        account_sid=account.account_sid,
        credentials=account.credentials(),
        api_url=account.effective_api_url,
        caller_id=caller_id or (account.caller_ids[0] if account.caller_ids else ""),
    )


def line_for_campaign(campaign: Campaign) -> Line | None:
    account = campaign.telephony_account
    if account is None:
        return None
    return line_for_account(account, campaign.caller_id)
