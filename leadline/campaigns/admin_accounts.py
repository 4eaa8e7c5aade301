"""The accounts admin as operators see it: a business's campaigns, a rep's campaigns.

Accounts sit below campaigns and must not import them, so the business and user pages are
registered by accounts without campaigns and extended here, one layer up.
"""

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import FilteredSelectMultiple

from leadline.accounts.admin import BusinessAdmin, UserAdmin, UserChangeForm, rep_fields_clean
from leadline.accounts.models import Business, User
from leadline.core.admin_helpers import count_of

from .models import Campaign


class CampaignChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.name} ({obj.public_id})"


class BusinessWithCampaignsAdmin(BusinessAdmin):
    list_display = (
        *BusinessAdmin.list_display[:3],
        "campaigns_count",
        *BusinessAdmin.list_display[3:],
    )

    def get_queryset(self, request):
        campaigns = count_of(Campaign.objects.all(), "business")
        return super().get_queryset(request).annotate(campaigns_count=campaigns)

    @admin.display(description="campaigns", ordering="campaigns_count")
    def campaigns_count(self, obj):
        return obj.campaigns_count


class RepUserChangeForm(UserChangeForm):
    # Campaign.reps seen from the rep's side; saved in UserWithCampaignsAdmin.save_related.
    campaigns = CampaignChoiceField(
        queryset=Campaign.objects.none(),
        required=False,
        widget=FilteredSelectMultiple("campaigns", is_stacked=False),
        help_text="Campaigns this rep works; only its own business's campaigns are offered "
        "(after changing the business, save first, then pick campaigns).",
    )

    class Meta(UserChangeForm.Meta):
        model = User

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        business_id = self.instance.business_id
        field = self.fields["campaigns"]
        assert isinstance(field, CampaignChoiceField)
        field.queryset = Campaign.objects.filter(business_id=business_id).order_by("name")
        if self.instance.pk and business_id:
            field.initial = list(self.instance.rep_campaigns.values_list("pk", flat=True))
        else:
            field.initial = []

    def clean(self):
        # The base form's clean checks the rep rules without campaigns; these include them.
        cleaned_data = super(UserChangeForm, self).clean()
        assert cleaned_data is not None  # ModelForm.clean returns self.cleaned_data
        rep_fields_clean(self, cleaned_data, list(cleaned_data.get("campaigns") or []))
        return cleaned_data


class UserWithCampaignsAdmin(UserAdmin):
    form = RepUserChangeForm
    list_display = (*UserAdmin.list_display[:4], "campaigns_count", *UserAdmin.list_display[4:])
    fieldsets = (
        *UserAdmin.fieldsets[:-1],
        (
            "Leadline",
            {"fields": ("business", "role", "business_role", "phone_number", "campaigns")},
        ),
    )

    def get_queryset(self, request):
        assignments = Campaign.reps.through.objects.all()
        return super().get_queryset(request).annotate(campaigns_count=count_of(assignments, "user"))

    @admin.display(description="campaigns", ordering="campaigns_count")
    def campaigns_count(self, obj):
        return obj.campaigns_count

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        if "campaigns" in form.cleaned_data:
            form.instance.rep_campaigns.set(form.cleaned_data["campaigns"])


for model, model_admin in ((Business, BusinessWithCampaignsAdmin), (User, UserWithCampaignsAdmin)):
    admin.site.unregister(model)
    admin.site.register(model, model_admin)
