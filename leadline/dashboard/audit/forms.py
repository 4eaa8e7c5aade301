"""The audit page's filters: client input becomes form errors, never a 500."""

from django import forms

from leadline.accounts.audit import AuditFilters


class AuditFilterForm(forms.Form):
    actor = forms.CharField(
        required=False,
        max_length=150,
        label="User or token",
        help_text="A username, or a token as ll_abcd (its prefix's start).",
    )
    action = forms.CharField(
        required=False, max_length=64, help_text="An action code or its start, e.g. leads."
    )
    lead_id = forms.CharField(required=False, max_length=255, label="Lead ID")
    since = forms.DateTimeField(
        required=False, label="From", widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    until = forms.DateTimeField(
        required=False, label="Before", widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    before = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def clean(self):
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        if since and until and since >= until:
            raise forms.ValidationError("“From” must be earlier than “Before”.")
        return data

    def filters(self) -> AuditFilters:
        data = self.cleaned_data
        return AuditFilters(
            actor=data["actor"].strip(),
            action=data["action"].strip(),
            lead_id=data["lead_id"].strip(),
            since=data["since"],
            until=data["until"],
        )
