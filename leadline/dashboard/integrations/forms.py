"""Forms of the integrations page: they turn client input into form errors, never a 500."""

from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django import forms
from django.utils import timezone

from leadline.accounts.models import ApiToken, Business
from leadline.campaigns.models import Campaign
from leadline.core.errors import ApiError
from leadline.webhooks.models import SUBSCRIBABLE_TYPES, Delivery, default_event_types
from leadline.webhooks.ssrf_guard import url_check


class TokenCreateForm(forms.Form):
    name = forms.CharField(
        max_length=ApiToken._meta.get_field("name").max_length,
        help_text="Where it is used, e.g. “CRM sync”. The secret is shown once, right after.",
    )


class CampaignChoiceField(forms.ModelChoiceField):
    """The business's campaigns by public id; anything else is "not a valid choice"."""

    def label_from_instance(self, obj: Campaign) -> str:
        return f"{obj.name} ({obj.public_id})"

    def to_python(self, value):
        # Public ids are short and alphanumeric; refuse anything else before it reaches the
        # database (PostgreSQL refuses NUL bytes in text with an error, not an empty result).
        if value not in self.empty_values and not (
            isinstance(value, str) and value.isascii() and value.isalnum() and len(value) <= 12
        ):
            raise forms.ValidationError(
                self.error_messages["invalid_choice"], code="invalid_choice"
            )
        return super().to_python(value)


class EndpointForm(forms.Form):
    url = forms.URLField(
        label="URL",
        max_length=2000,
        assume_scheme="https",
        widget=forms.URLInput(attrs={"placeholder": "https://example.com/hooks/leadline"}),
        help_text="We POST each event here, signed (Standard Webhooks).",
    )
    campaign = CampaignChoiceField(
        queryset=Campaign.objects.none(),
        to_field_name="public_id",
        required=False,
        empty_label="All campaigns",
    )
    event_types = forms.MultipleChoiceField(
        label="Events",
        choices=[(t.value, f"{t.value} ({t.label.lower()})") for t in SUBSCRIBABLE_TYPES],
        widget=forms.CheckboxSelectMultiple,
        initial=default_event_types,
        error_messages={"required": "Choose at least one event."},
    )

    def __init__(self, *args, business: Business, **kwargs):
        super().__init__(*args, **kwargs)
        campaign = self.fields["campaign"]
        assert isinstance(campaign, CampaignChoiceField)  # declared above
        campaign.queryset = Campaign.objects.filter(business=business).order_by("name", "pk")

    def clean_url(self) -> str:
        url = self.cleaned_data["url"]
        try:
            # urlsplit checks the port only when asked; the URL validator lets 99999 through.
            urlsplit(url).port  # noqa: B018
        except ValueError:
            raise forms.ValidationError("The port of this URL is not valid.") from None
        try:
            return url_check(url)
        except ApiError as exc:
            raise forms.ValidationError(exc.detail) from None


class DeliveriesFilterForm(forms.Form):
    """The query string of an endpoint's deliveries list."""

    status = forms.ChoiceField(
        choices=[("", "All"), *Delivery.Status.choices], required=False, label="Status"
    )
    before = forms.IntegerField(
        min_value=1, max_value=2**63 - 1, required=False, widget=forms.HiddenInput
    )


def _default_since() -> str:
    return (timezone.localtime() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")


class RedeliverFailedForm(forms.Form):
    since = forms.DateTimeField(
        label="Failed deliveries created since",
        initial=_default_since,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text="Time in UTC.",
    )

    def clean_since(self) -> datetime:
        since = self.cleaned_data["since"]
        # Deliveries are at most days old; a far-off year only risks date arithmetic overflow.
        if since.year < 2000 or since > timezone.now() + timedelta(days=1):
            raise forms.ValidationError("Choose a time between 2000 and now.")
        return since
