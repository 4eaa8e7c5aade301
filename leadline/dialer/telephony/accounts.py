"""A business's telephony account (campaigns.TelephonyAccount) as a provider's `Line`.

Here, in the dialer, because a Line carries decrypted credentials to the provider code; the
campaigns layer stores the account and never decrypts it for anyone else.
"""

from leadline.campaigns.models import Campaign, TelephonyAccount

from . import Line, ProviderError

UNDECRYPTABLE = (
    "The telephony account's credentials cannot be decrypted with the configured keys; an "
    "operator must enter them again (admin, telephony accounts)."
)


def line_for_account(account: TelephonyAccount, caller_id: str = "") -> Line:
    """The account's Line: decrypted credentials, the effective API URL (the provider's
    documented one when the account names none) and `caller_id` (default: the account's
    first number).

    Raises ProviderError (kind `auth`) when the credentials were encrypted under a key that
    is no longer configured: to a caller that is an account whose credentials do not work.
    """
    try:
        credentials = account.credentials()
    except ValueError:
        raise ProviderError(ProviderError.AUTH, UNDECRYPTABLE) from None
    return Line(
        provider=account.provider,
        account_sid=account.account_sid,
        credentials=credentials,
        api_url=account.effective_api_url,
        caller_id=caller_id or (account.caller_ids[0] if account.caller_ids else ""),
    )


def line_for_campaign(campaign: Campaign) -> Line | None:
    """The Line a campaign's calls go out on, showing the campaign's caller ID; None when the
    campaign has no account (it then uses LEADLINE_TELEPHONY_PROVIDER, `default_provider`)."""
    account = campaign.telephony_account
    if account is None:
        return None
    return line_for_account(account, campaign.caller_id)
