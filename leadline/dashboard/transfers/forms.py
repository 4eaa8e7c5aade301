"""Forms of the CSV upload and export pages."""

from datetime import UTC

from django import forms


class UploadForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
        error_messages={"required": "Choose a CSV file to upload."},
    )


class ExportForm(forms.Form):
    """Optional processed window, in the campaign's time zone (the view activates it)."""

    processed_from = forms.DateTimeField(
        required=False,
        label="Processed from",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    processed_to = forms.DateTimeField(
        required=False,
        label="Processed before",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    custom_fields = forms.ChoiceField(
        required=False,
        label="Custom fields",
        choices=[("columns", "One column per field"), ("json", "One JSON column")],
    )

    def _in_utc(self, name: str):
        # Early year 1 or late 9999 in the campaign's zone has no UTC equivalent.
        value = self.cleaned_data.get(name)
        try:
            return value.astimezone(UTC) if value is not None else None
        except OverflowError:
            raise forms.ValidationError("This date is out of range.") from None

    def clean_processed_from(self):
        return self._in_utc("processed_from")

    def clean_processed_to(self):
        return self._in_utc("processed_to")

    def clean(self):
        data = super().clean()
        assert data is not None  # Form.clean() returns cleaned_data
        start, end = data.get("processed_from"), data.get("processed_to")
        if start and end and start >= end:
            self.add_error("processed_to", "Must be later than “processed from”.")
        return data
