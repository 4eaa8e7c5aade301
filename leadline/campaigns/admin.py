"""Operator console for campaigns (configuration, script, outcomes, reps, telephony) and
businesses' telephony accounts."""

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin
from django.db import models

from leadline.accounts.models import User
from leadline.core.admin_helpers import count_of

from . import validation
from .models import Campaign, Outcome, ScriptQuestion, TelephonyAccount, new_public_id
from .services import (
    campaign_defaults_install,
    telephony_account_create,
    telephony_account_update,
)
from .validation import InvalidSetting


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
    fields = ("position", "label", "connected", "effect", "do_not_call")


def _apply_rule(form: forms.BaseForm, rule: Callable[[Any], Any], name: str) -> Any:
    """`rule` (from .validation, shared with the services and the CLI) as a form error."""
    try:
        return rule(form.cleaned_data[name])
    except InvalidSetting as exc:
        raise forms.ValidationError(exc.detail) from None


def _add_setting_error(form: forms.BaseForm, exc: InvalidSetting) -> None:
    form.add_error(exc.field if exc.field in form.fields else None, exc.detail)


class CampaignAdminForm(forms.ModelForm):
    """Validates the configuration the dialer trusts; a bad value is a form error, never a 500.

    The rules themselves live in .validation: `leadline campaign set` and the services apply
    the same ones.
    """

    # No Meta: CampaignAdmin.get_form supplies the model and the fieldsets' fields.

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        business_id = self.instance.business_id
        account = self.fields.get("telephony_account")
        if isinstance(account, forms.ModelChoiceField):
            accounts = TelephonyAccount.objects.select_related("business")
            if business_id:
                account.queryset = accounts.filter(business_id=business_id)
            else:
                # A new campaign: the business is picked on the same form; clean() refuses an
                # account of another business.
                account.queryset = accounts
                account.label_from_instance = (  # type: ignore[method-assign]  # as for reps
                    lambda obj: f"{obj} ({obj.business})"
                )
            account.empty_label = "None: the default provider (LEADLINE_TELEPHONY_PROVIDER)"
        for name in (
            "max_ring_seconds",
            "max_call_seconds",
            "preview_seconds",
            "wrap_up_seconds",
            "callback_grace_minutes",
            "dial_mode",
        ):
            if name in self.fields:
                self.fields[name].required = False
        supervisors = self.fields.get("supervisors")
        if isinstance(supervisors, forms.ModelMultipleChoiceField):
            supervisors.queryset = User.objects.filter(role=User.Role.SUPERVISOR).order_by(
                "username"
            )
        reps = self.fields.get("reps")
        if reps is None:
            return
        # The form field of the Campaign.reps many-to-many.
        assert isinstance(reps, forms.ModelMultipleChoiceField)
        queryset = User.objects.filter(role=User.Role.REP).order_by("username")
        if business_id:
            # The business is fixed once the campaign exists: offer its reps only.
            reps.queryset = queryset.filter(business_id=business_id)
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
        return _apply_rule(self, validation.timezone_clean, "timezone")

    def clean_window_days(self):
        return _apply_rule(self, validation.window_days_clean, "window_days")

    def clean_retry_delays_minutes(self):
        return _apply_rule(self, validation.retry_delays_clean, "retry_delays_minutes")

    def clean_rep_visible_fields(self):
        return _apply_rule(self, validation.rep_visible_fields_clean, "rep_visible_fields")

    def clean_max_attempts(self):
        return _apply_rule(self, validation.max_attempts_clean, "max_attempts")

    def clean_lease_minutes(self):
        return _apply_rule(self, validation.lease_minutes_clean, "lease_minutes")

    def clean_max_ring_seconds(self):
        return self._limit(validation.ring_seconds_clean, "max_ring_seconds")

    def clean_max_call_seconds(self):
        return self._limit(validation.call_seconds_clean, "max_call_seconds")

    def clean_dial_mode(self):
        # Optional like the limits below: a form posted without it keeps preview.
        return self.cleaned_data.get("dial_mode") or Campaign.DialMode.PREVIEW

    def clean_preview_seconds(self):
        return self._limit(validation.preview_seconds_clean, "preview_seconds")

    def clean_wrap_up_seconds(self):
        return self._limit(validation.wrap_up_seconds_clean, "wrap_up_seconds")

    def clean_callback_grace_minutes(self):
        return self._limit(validation.callback_grace_clean, "callback_grace_minutes")

    def _limit(self, rule, name):
        # Optional on the form (added with the telephony settings; a form posted without
        # them keeps working): empty means the model's default.
        if self.cleaned_data.get(name) is None:
            field = Campaign._meta.get_field(name)
            assert isinstance(field, models.Field)  # a column, not a relation
            return field.get_default()
        return _apply_rule(self, rule, name)

    def clean(self):
        cleaned_data = super().clean()
        assert cleaned_data is not None  # ModelForm.clean returns self.cleaned_data
        start, end = cleaned_data.get("window_start"), cleaned_data.get("window_end")
        if start is not None and end is not None:
            try:
                validation.window_clean(start, end)
            except InvalidSetting as exc:
                _add_setting_error(self, exc)
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
        if (
            "telephony_account" in self.fields
            and "telephony_account" not in self.errors
            and business_id is not None
        ):
            try:
                cleaned_data["caller_id"] = validation.campaign_caller_id_clean(
                    business_id=business_id,
                    account=cleaned_data.get("telephony_account"),
                    caller_id=cleaned_data.get("caller_id"),
                )
            except InvalidSetting as exc:
                _add_setting_error(self, exc)
        return cleaned_data


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    form = CampaignAdminForm
    list_display = (
        "name",
        "public_id",
        "business",
        "status",
        "category",
        "lead_count",
        "reps_count",
        "created_at",
    )
    list_filter = ("status", "category", "business", "created_at")
    list_select_related = ("business",)
    search_fields = ("name", "public_id", "business__name")
    autocomplete_fields = ("business",)
    filter_horizontal = ("reps", "supervisors")
    inlines = (ScriptQuestionInline, OutcomeInline)
    fieldsets = (
        (
            None,
            {"fields": ("business", "name", "public_id", "status", "category", "lead_count")},
        ),
        ("Attempt policy", {"fields": ("max_attempts", "retry_delays_minutes", "lease_minutes")}),
        (
            "Calling window",
            {"fields": ("timezone", "window_start", "window_end", "window_days")},
        ),
        ("Reps", {"fields": ("reps", "rep_visible_fields", "supervisors")}),
        (
            "Dialing",
            {
                "fields": (
                    "dial_mode",
                    "preview_seconds",
                    "wrap_up_seconds",
                    "callback_grace_minutes",
                )
            },
        ),
        (
            "Telephony",
            {
                "fields": (
                    "telephony_account",
                    "caller_id",
                    "max_ring_seconds",
                    "max_call_seconds",
                ),
                "description": "The account calls go through and the number leads see (one of "
                "the account's caller IDs; empty: its first). Without an account, calls use "
                "the default provider (LEADLINE_TELEPHONY_PROVIDER).",
            },
        ),
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


CREDENTIAL_HELP = {
    "api_key": "Exotel: the API key (Exotel dashboard, API settings).",
    "api_token": "Exotel: the API token (Exotel dashboard, API settings).",
    "auth_token": "Twilio: the Auth Token (Twilio Console, Account Info).",
}
# Every provider's credential names (TelephonyAccount.CREDENTIAL_NAMES), one form field each.
CREDENTIAL_FIELDS = tuple(CREDENTIAL_HELP)


class TelephonyAccountForm(forms.ModelForm):
    """An account's settings; its credentials are write-only: password fields that are never
    filled in when the page renders, stored (encrypted) only when typed, kept when left empty.
    Every rule is the services' (validation.telephony_account_clean)."""

    api_key = forms.CharField(required=False, strip=True)
    api_token = forms.CharField(required=False, strip=True)
    auth_token = forms.CharField(required=False, strip=True)
    caller_ids = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="The account's numbers in E.164 (any country), one a line, e.g. "
        "+918047112233 or +14155550100. Campaigns show one of them to leads.",
    )

    # No Meta: TelephonyAccountAdmin.fields names what the form holds.

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in CREDENTIAL_FIELDS:
            field = self.fields[name]
            # render_value=False: a stored or just-typed secret never goes back into a page.
            field.widget = forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"})
            field.help_text = CREDENTIAL_HELP[name] + (
                " Stored encrypted; leave empty to keep the current one."
                if self.instance.pk
                else ""
            )
        if self.instance.pk:
            self.initial["caller_ids"] = "\n".join(self.instance.caller_ids)

    def clean_caller_ids(self):
        text = self.cleaned_data["caller_ids"] or ""
        return [part.strip() for part in text.replace(",", "\n").splitlines() if part.strip()]

    def clean(self):
        cleaned_data = super().clean()
        assert cleaned_data is not None  # ModelForm.clean returns self.cleaned_data
        if self.errors:
            return cleaned_data
        instance = self.instance
        provider = cleaned_data.get("provider", instance.provider)
        typed = {n: cleaned_data[n] for n in CREDENTIAL_FIELDS if cleaned_data.get(n)}
        if instance.pk:
            # Only what was typed replaces the stored credentials.
            try:
                credentials = {**instance.credentials(), **typed}
            except ValueError:
                # Stored under a key no longer configured: the operator must type them again.
                credentials = typed
        else:
            credentials = typed
        try:
            settings = validation.telephony_account_clean(
                provider=provider,
                account_sid=cleaned_data.get("account_sid") or "",
                credentials=credentials,
                caller_ids=cleaned_data.get("caller_ids") or [],
                api_url=cleaned_data.get("api_url") or "",
                name=cleaned_data.get("name") or "",
            )
            validation.caller_ids_in_use_check(account=instance, caller_ids=settings.caller_ids)
        except InvalidSetting as exc:
            _add_setting_error(self, exc)
            return cleaned_data
        cleaned_data["caller_ids"] = settings.caller_ids
        cleaned_data["typed_credentials"] = typed
        return cleaned_data


@admin.register(TelephonyAccount)
class TelephonyAccountAdmin(admin.ModelAdmin):
    """A business's provider accounts. Credentials are entered here (or with `leadline
    telephony add`) and never shown again; `leadline telephony check` proves them."""

    form = TelephonyAccountForm
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = (
        "pk",
        "name",
        "business",
        "provider",
        "account_sid",
        "caller_ids_display",
        "campaigns_count",
        "checked_at",
        "check_result",
    )
    list_display_links = ("pk", "name")
    list_filter = ("provider", "business")
    list_select_related = ("business",)
    search_fields = ("name", "account_sid", "business__name")
    autocomplete_fields = ("business",)
    # credentials_encrypted is deliberately absent: the three credential fields write it.
    fields = (
        "business",
        "name",
        "provider",
        "account_sid",
        *CREDENTIAL_FIELDS,
        "caller_ids",
        "api_url",
        "checked_at",
        "check_result",
    )

    def get_queryset(self, request):
        campaigns = count_of(Campaign.objects.all(), "telephony_account")
        return super().get_queryset(request).annotate(campaigns_count=campaigns)

    @admin.display(description="campaigns", ordering="campaigns_count")
    def campaigns_count(self, obj):
        return obj.campaigns_count

    @admin.display(description="caller IDs")
    def caller_ids_display(self, obj):
        return ", ".join(obj.caller_ids)

    def get_readonly_fields(self, request, obj=None):
        # Another business or provider is another account (its campaigns, its credentials).
        checked = ("checked_at", "check_result")
        return (*checked, "business", "provider") if obj is not None else checked

    def get_actions(self, request):
        # No bulk delete: campaigns protect their account; delete one at a time.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.campaigns.exists():
            return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        # Through the services (encryption, the in-use check under a lock), never obj.save().
        data = form.cleaned_data
        if change:
            saved = telephony_account_update(
                account=obj,
                account_sid=data["account_sid"],
                credentials=data["typed_credentials"],
                caller_ids=data["caller_ids"],
                api_url=data["api_url"],
                name=data["name"],
            )
        else:
            saved = telephony_account_create(
                business=data["business"],
                provider=data["provider"],
                account_sid=data["account_sid"],
                credentials=data["typed_credentials"],
                caller_ids=data["caller_ids"],
                api_url=data["api_url"],
                name=data["name"],
            )
        # The admin goes on with `obj` (the log entry, the redirect): make it the saved row.
        obj.pk = saved.pk
        obj.refresh_from_db()
        obj._state.adding = False


# The business and user pages with their campaigns (accounts cannot import campaigns).
from . import admin_accounts  # noqa: E402, F401
