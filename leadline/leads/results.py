"""The GET result item of the Leads API v4, defined once.

The API's GET (leads.selectors), the CSV export (leads.exports), the lead.processed webhook
payload (the dialer records `lead_result`) and the dashboard's webhook test event all build
their items here, so their keys and key order cannot drift apart.
"""

from datetime import datetime
from typing import Any

from leadline.campaigns.models import Campaign
from leadline.core.recordings import recording_url

from .models import Lead

# The Lead columns an item is built from (what a page of results reads, nothing more).
RESULT_FIELDS = (
    "id",
    "lead_id",
    "phone_number",
    "contact_name",
    "custom_fields",
    "created_at",
    "latest_called_at",
    "latest_recording",
    "lead_outcome",
    "lead_responses",
    "processed_at",
)


def iso(value: datetime | None) -> str | None:
    """ISO 8601 with an explicit offset, to the second, as the v4 examples show."""
    if value is None:
        return None
    return value.isoformat(timespec="seconds")


def result_item(
    row: dict[str, Any], campaign_public_id: str, now: float | None = None
) -> dict[str, Any]:
    """The GET result item (and webhook payload): fixed keys, then the lead's custom fields.

    `row` holds RESULT_FIELDS; `now` is the time recording URLs are signed for (default: the
    current time). One dict literal, because this runs for every item of every page.
    """
    item = {
        "phone_number": row["phone_number"],
        "lead_id": row["lead_id"],
        "latest_recording_url": recording_url(
            row["latest_recording"], anchor=row["latest_called_at"], now=now
        ),
        "campaign_id": campaign_public_id,
        "latest_called_at": iso(row["latest_called_at"]),
        "lead_outcome": row["lead_outcome"],
        "processed_at": iso(row["processed_at"]),
        "contact_name": row["contact_name"],
        "created_at": iso(row["created_at"]),
        "lead_responses": row["lead_responses"] or {},
    }
    for key, value in (row["custom_fields"] or {}).items():
        if key not in item:
            item[key] = value
    return item


def lead_result(*, lead: Lead, campaign: Campaign) -> dict[str, Any]:
    return result_item({name: getattr(lead, name) for name in RESULT_FIELDS}, campaign.public_id)


# The keys every item carries, in the item's order (also the CSV export's first columns); a
# custom field never overrides them. Read off the builder itself so the two cannot disagree:
# an empty row touches no settings (no recording, so no URL is signed).
FIXED_KEYS = tuple(result_item(dict.fromkeys(RESULT_FIELDS), ""))
