"""Forms of the campaign pages: the leads table's filters and the lead actions."""

from datetime import datetime, time, timedelta

from django import forms
from django.http import QueryDict

from leadline.campaigns.models import Campaign
from leadline.campaigns.rules import campaign_zone
from leadline.leads.selectors import LEAD_FILTERS, LeadFilters

# The pk converter's bound: a cursor beyond a 64-bit column would be a database error.
MAX_CURSOR = 10**18


def _no_nul(value: str) -> str:
    # PostgreSQL refuses NUL in text; a client's input must never reach it as a 500.
    if "\x00" in value:
        raise forms.ValidationError("Enter text without control characters.")
    return value


class LeadFilterForm(forms.Form):
    """GET filters of the leads table; the cursor fields come from the newer/older links."""

    lead_id = forms.CharField(label="Lead ID", required=False, max_length=255)
    state = forms.ChoiceField(
        label="Status", required=False, choices=[("", "Any"), *LEAD_FILTERS.items()]
    )
    outcome = forms.ChoiceField(label="Outcome", required=False)
    processed_from = forms.DateField(
        label="Processed from", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    processed_to = forms.DateField(
        label="Processed to", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    before = forms.IntegerField(required=False, min_value=1, max_value=MAX_CURSOR)
    after = forms.IntegerField(required=False, min_value=1, max_value=MAX_CURSOR)

    def __init__(self, *args, campaign: Campaign, **kwargs):
        super().__init__(*args, **kwargs)
        self.campaign = campaign
        labels = [outcome.label for outcome in campaign.outcomes.all()]
        outcome_field = self.fields["outcome"]
        assert isinstance(outcome_field, forms.ChoiceField)  # declared above
        outcome_field.choices = [("", "Any"), *((label, label) for label in labels)]

    def _clean_day(self, name: str):
        day = self.cleaned_data[name]
        # Dates at the ends of the calendar overflow once moved to UTC or to the next day.
        if day is not None and not 1900 <= day.year <= 9000:
            raise forms.ValidationError("Enter a date between the years 1900 and 9000.")
        return day

    def clean_processed_from(self):
        return self._clean_day("processed_from")

    def clean_processed_to(self):
        return self._clean_day("processed_to")

    def clean_lead_id(self) -> str:
        return _no_nul(self.cleaned_data["lead_id"].strip())

    def clean(self):
        data = super().clean()
        assert data is not None  # Form.clean() returns cleaned_data
        start, end = data.get("processed_from"), data.get("processed_to")
        if start and end and end < start:
            self.add_error("processed_to", "The end date is before the start date.")
        if data.get("before") and data.get("after"):
            raise forms.ValidationError("Use either the newer or the older link, not both.")
        return data

    def filters(self) -> LeadFilters:
        """The selector's filters: dates become local midnights in the campaign's zone."""
        data = self.cleaned_data
        zone = campaign_zone(self.campaign)

        def midnight(day) -> datetime:
            return datetime.combine(day, time.min, tzinfo=zone)

        start, end = data.get("processed_from"), data.get("processed_to")
        return LeadFilters(
            lead_id=data.get("lead_id") or None,
            state=data.get("state") or None,
            outcome=data.get("outcome") or None,
            processed_from=midnight(start) if start else None,
            # The end date is inclusive: up to the next local midnight.
            processed_until=midnight(end + timedelta(days=1)) if end else None,
        )

    def query_without_cursor(self) -> str:
        """The filters as a query string, for the newer/older links to carry."""
        assert isinstance(self.data, QueryDict)  # the view binds request.GET
        params = self.data.copy()
        for name in ("before", "after"):
            params.pop(name, None)
        return params.urlencode()


class ConvertForm(forms.Form):
    detail = forms.CharField(
        label="Conversion code",
        max_length=32,
        help_text="1 to 32 characters, e.g. PAID_PLAN (what the Convert API calls detail).",
    )

    def clean_detail(self) -> str:
        # The API's own rule: 1 to 32 characters as sent (not stripped away to nothing).
        detail = _no_nul(self.cleaned_data["detail"])
        if not detail.strip():
            raise forms.ValidationError("Enter a conversion code.")
        return detail


class EraseForm(forms.Form):
    confirm = forms.BooleanField(
        label="I understand the lead's personal data is deleted for good.", required=True
    )
    # The API's ?suppress=true: the number is listed before it is wiped.
    suppress = forms.BooleanField(
        label="Also add the number to the business's do-not-call list.", required=False
    )
