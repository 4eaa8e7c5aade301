"""Operator console for campaigns: configuration, script, outcomes and reps."""

import zoneinfo

from django import forms
from django.contrib import admin

from leadline.accounts.models import User
from leadline.core.admin_helpers import count_of

from .models import Campaign, Outcome, ScriptQuestion, new_public_id
from .services import campaign_defaults_install


def _int_list(value, *, low: int, high: int | None = None) -> bool:
    # bool is an int in Python; `true` in a JSON list is not a weekday or a delay.
    return isinstance(value, list) and all(
        isinstance(v, int) and not isinstance(v, bool) and v >= low and (high is None or v <= high)
        for v in value
    )


class ScriptQuestionForm(forms.ModelForm):
    # No Meta: the inline's formset factory supplies the model and its fields.

    def clean(self):
        cleaned_data = super().clean()
        assert cleaned_data is not None  # ModelForm.clean returns self.cleaned_data
        kind, options = cleaned_data.get("kind"), cleaned_data.get("options")
        if options is None:
            return cleaned_data
        if kind == ScriptQuestion.Kind.CHOICE:
            # The console renders these as the only answers a rep can pick.
            if not options or not all(isinstance(o, str) and o.strip() for o in options):
                self.add_error("options", 'A single choice needs options, e.g. ["Car", "Bike"].')
        elif options:
            self.add_error("options", "Only a single choice question has options.")
        return cleaned_data


class ScriptQuestionInline(admin.TabularInline):
    model = ScriptQuestion
    form = ScriptQuestionForm
    extra = 0
    fields = ("position", "key", "label", "kind", "required", "options")


class OutcomeInline(admin.TabularInline):
    model = Outcome
    extra = 0
    fields = ("position", "label", "connected", "effect")


class CampaignAdminForm(forms.ModelForm):
    """Validates the configuration the dialer trusts; a bad value is a form error, never a 500."""

    # No Meta: CampaignAdmin.get_form supplies the model and the fieldsets' fields.

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        reps = self.fields.get("reps")
        if reps is None:
            return
        # The form field of the Campaign.reps many-to-many.
        assert isinstance(reps, forms.ModelMultipleChoiceField)
        queryset = User.objects.filter(role=User.Role.REP).order_by("username")
        if self.instance.business_id:
            # The business is fixed once the campaign exists: offer its reps only.
            reps.queryset = queryset.filter(business_id=self.instance.business_id)
        else:
            # A new campaign: the business is picked on the same form, so offer every rep
            # with its business named; clean() refuses those of another business.
            reps.queryset = queryset.select_related("business")
            # A per-instance override (the admin builds this field, so it cannot be a
            # subclass); mypy refuses assigning to a method, which this deliberately does.
            reps.label_from_instance = (  # type: ignore[method-assign]
                lambda obj: f"{obj.username} ({obj.business})"
            )

    def clean_timezone(self):
        name = self.cleaned_data["timezone"]
        if name not in zoneinfo.available_timezones():
            raise forms.ValidationError(
                "Not a known time zone; use an IANA name such as Asia/Kolkata."
            )
        return name

    def clean_window_days(self):
        days = self.cleaned_data["window_days"]
        if not _int_list(days, low=0, high=6) or not days:
            raise forms.ValidationError(
                "A list of weekdays from 0 (Monday) to 6 (Sunday), e.g. [0, 1, 2]."
            )
        return sorted(set(days))

    def clean_retry_delays_minutes(self):
        delays = self.cleaned_data["retry_delays_minutes"]
        # At least one: the dialer repeats the last delay for every further retry.
        if not _int_list(delays, low=1) or not delays:
            raise forms.ValidationError("A list of minutes (1 or more each), e.g. [60, 240].")
        return delays

    def clean_rep_visible_fields(self):
        names = self.cleaned_data["rep_visible_fields"]
        if names is None:
            return []
        if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
            raise forms.ValidationError('A list of custom field names, e.g. ["city"].')
        return names

    def clean_max_attempts(self):
        return self._at_least_one("max_attempts")

    def clean_lease_minutes(self):
        return self._at_least_one("lease_minutes")

    def _at_least_one(self, name):
        value = self.cleaned_data[name]
        if value is not None and value < 1:
            raise forms.ValidationError("Must be at least 1.")
        return value

    def clean(self):
        cleaned_data = super().clean()
        assert cleaned_data is not None  # ModelForm.clean returns self.cleaned_data
        start, end = cleaned_data.get("window_start"), cleaned_data.get("window_end")
        if start is not None and end is not None and start >= end:
            # window_open() tests start <= local time < end: a window past midnight never opens.
            self.add_error(
                "window_end", "The calling window must end after it starts, the same day."
            )
        if "business" in self.fields:  # a new campaign
            business = cleaned_data.get("business")
            business_id = business.pk if business else None
        else:
            business_id = self.instance.business_id
        reps = cleaned_data.get("reps") or []
        foreign = [u.username for u in reps if business_id is None or u.business_id != business_id]
        if foreign:
            self.add_error(
                "reps",
                "Only reps of this campaign's business can be assigned: "
                + ", ".join(foreign)
                + ".",
            )
        return cleaned_data


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    form = CampaignAdminForm
    list_display = (
        "name",
        "public_id",
        "business",
        "status",
        "lead_count",
        "reps_count",
        "created_at",
    )
    list_filter = ("status", "business", "created_at")
    list_select_related = ("business",)
    search_fields = ("name", "public_id", "business__name")
    autocomplete_fields = ("business",)
    filter_horizontal = ("reps",)
    inlines = (ScriptQuestionInline, OutcomeInline)
    fieldsets = (
        (None, {"fields": ("business", "name", "public_id", "status", "lead_count")}),
        ("Attempt policy", {"fields": ("max_attempts", "retry_delays_minutes", "lease_minutes")}),
        (
            "Calling window",
            {"fields": ("timezone", "window_start", "window_end", "window_days")},
        ),
        ("Reps", {"fields": ("reps", "rep_visible_fields")}),
    )

    def get_queryset(self, request):
        reps = Campaign.reps.through.objects.all()
        return super().get_queryset(request).annotate(reps_count=count_of(reps, "campaign"))

    @admin.display(description="reps", ordering="reps_count")
    def reps_count(self, obj):
        return obj.reps_count

    def get_readonly_fields(self, request, obj=None):
        # The public id is the system's (clients have it in their integrations); a campaign
        # never moves to another business (its leads, webhooks and reps belong to that one).
        fixed = ("public_id", "lead_count")
        return (*fixed, "business") if obj is not None else fixed

    def get_actions(self, request):
        # No bulk delete: its confirmation page would list every lead of every campaign.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def has_delete_permission(self, request, obj=None):
        # Only a campaign that never had a lead: leads (and erasure tombstones) protect it.
        # Pausing is how a campaign stops.
        if obj is not None and obj.leads.exists():
            return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        if change:
            # Only what the form edits: a full save would write back `lead_count` as read
            # before the lead services' locked increments that committed meanwhile.
            concrete = {f.name for f in Campaign._meta.concrete_fields}
            obj.save(update_fields=[*(concrete & set(form.fields)), "updated_at"])
            return
        # The model default already drew a random id; draw again on the (rare) collision, as
        # campaign_create does, instead of failing the save on the unique index.
        while Campaign.objects.filter(public_id=obj.public_id).exists():
            obj.public_id = new_public_id()
        obj.save()

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        if not change:
            # After the inlines: the operator's own outcomes or script win, and whatever was
            # left empty gets campaign_create's defaults (the same function installs them).
            campaign_defaults_install(campaign=form.instance)


# The business and user pages with their campaigns (accounts cannot import campaigns).
from . import admin_accounts  # noqa: E402, F401
