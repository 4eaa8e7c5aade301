"""Forms of the do-not-call pages. A number typed here is only ever echoed back to the client
who typed it; it is hashed before it reaches the compliance tables."""

from django import forms

from leadline.campaigns.models import Campaign
from leadline.compliance.services import REASON_CONTROL_CHARS as CONTROL_CHARS
from leadline.compliance.services import REASON_MAX
from leadline.core.phones import normalize_indian_phone

BUSINESS_WIDE = "business"
PHONE_INVALID = "Enter a valid Indian phone number, such as 98765 43210 or +91 98765 43210."


class PhoneField(forms.CharField):
    """A number as people write it, cleaned to E.164 (`+91XXXXXXXXXX`)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 32)
        kwargs.setdefault("label", "Phone number")
        super().__init__(**kwargs)
        self.widget.attrs.update({"autocomplete": "off", "inputmode": "tel"})

    def clean(self, value):
        text = super().clean(value)
        if not text:
            return text
        e164 = normalize_indian_phone(text)
        if e164 is None:
            raise forms.ValidationError(PHONE_INVALID, code="invalid")
        return e164


class AddForm(forms.Form):
    phone_number = PhoneField()
    scope = forms.ChoiceField(label="Where")
    reason = forms.CharField(label="Reason", max_length=REASON_MAX, required=False)

    def __init__(self, *args, campaigns: list[Campaign], **kwargs):
        super().__init__(*args, **kwargs)
        self.campaigns = {c.public_id: c for c in campaigns}
        field = self.fields["scope"]
        assert isinstance(field, forms.ChoiceField)  # declared above
        field.choices = [(BUSINESS_WIDE, "Business-wide (every campaign)")] + [
            (c.public_id, f"Campaign: {c.name}") for c in campaigns
        ]

    def clean_reason(self) -> str:
        reason = self.cleaned_data["reason"]
        if CONTROL_CHARS.search(reason):
            raise forms.ValidationError("The reason must be one line of text.", code="invalid")
        return reason

    def campaign(self) -> Campaign | None:
        """The chosen campaign, None for business-wide (after is_valid())."""
        scope = self.cleaned_data["scope"]
        return None if scope == BUSINESS_WIDE else self.campaigns[scope]


class SearchForm(forms.Form):
    # Posted, not a GET query: a number in a URL would reach access logs and browser history.
    phone_number = PhoneField(label="Look up a number")


class ListForm(forms.Form):
    """The list's cursor: entries older than `before` (an entry id)."""

    before = forms.IntegerField(required=False, min_value=1, max_value=10**18)
