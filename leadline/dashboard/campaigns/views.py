"""The client dashboard's campaign pages: campaigns, a campaign's figures and configuration,
its leads table, and one lead with its calls and the client's actions on it.

Views stay thin: every read goes through a business-scoped selector (another business's
campaign or lead is a 404, never a 403, so its existence is not revealed) and every write
through the same lead services the v4 API uses, whose `ApiError`s become messages.
"""

from typing import Any

from django.contrib import messages
from django.http import HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from leadline.accounts import audit
from leadline.accounts.http import BusinessRequest
from leadline.campaigns.models import Campaign
from leadline.campaigns.selectors import (
    campaign_config_get_for_business,
    campaign_get_for_business,
    campaigns_for_business,
)
from leadline.dashboard.auth import client_required, permission_required
from leadline.dashboard.errors import found, service_messages
from leadline.dialer import report_pages
from leadline.dialer.selectors import lead_attempts_for_business, window_text
from leadline.leads import services as lead_services
from leadline.leads.checks import lead_outlook, outlook_dial
from leadline.leads.models import Lead
from leadline.leads.selectors import (
    LEAD_STATES,
    lead_figures,
    lead_get_for_business,
    lead_state,
    lead_table_page,
)

from . import charts
from .forms import ConvertForm, EraseForm, LeadFilterForm

PAGE_SIZE = 50
CHART_DAYS = 30
FILTER_FIELDS = ("lead_id", "state", "outcome", "processed_from", "processed_to")


def _campaign(request: BusinessRequest, campaign_id: str, *, config: bool = False) -> Campaign:
    get = campaign_config_get_for_business if config else campaign_get_for_business
    return found(get, missing="No such campaign.", business=request.business, public_id=campaign_id)


def _lead(request: BusinessRequest, campaign: Campaign, pk: int) -> Lead:
    return found(
        lead_get_for_business,
        missing="No such lead.",
        business=request.business,
        campaign=campaign,
        pk=pk,
    )


def lead_url(campaign: Campaign, lead: Lead) -> str:
    """A lead's page: at its lead_id, or (a tombstone, which has none) at its row id."""
    if lead.lead_id is not None:
        return reverse("dashboard:campaign_lead", args=[campaign.public_id, lead.lead_id])
    return reverse("dashboard:campaign_lead_row", args=[campaign.public_id, lead.pk])


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(_text(v) for v in value)
    if value is None:
        return "—"
    return str(value)


@client_required
@permission_required("dashboard.view")
@require_GET
def campaign_list(request: BusinessRequest) -> HttpResponse:
    campaigns = [
        {"campaign": c, "window": window_text(c)}
        for c in campaigns_for_business(business=request.business)
    ]
    return render(
        request,
        "dashboard/campaigns/list.html",
        {"section": "campaigns", "campaigns": campaigns},
    )


@client_required
@permission_required("dashboard.view")
@require_GET
def campaign_detail(request: BusinessRequest, campaign_id: str) -> HttpResponse:
    campaign = _campaign(request, campaign_id, config=True)
    now = timezone.now()
    # Kept counts: a few rows read whatever the campaign's size (leads.counts).
    figures = lead_figures(campaign=campaign, days=CHART_DAYS, now=now)
    counts, outcomes, per_day = figures.counts, figures.outcomes, figures.per_day
    outcome_chart = charts.row_chart(
        [charts.Bar(label, n, f"{label}: {n} lead(s)") for label, n in outcomes],
        chart_id="chart-outcomes",
        title="Processed leads by outcome",
        x_label="Leads",
        unit="processed leads",
        # Drawn at about the card's width, so its text stays legible in the half-width card.
        width=520,
        label_width=190,
    )
    day_chart = charts.column_chart(
        [
            charts.Bar(day.strftime("%d %b"), n, f"{day.strftime('%a %d %b %Y')}: {n} processed")
            for day, n in per_day
        ],
        chart_id="chart-per-day",
        title=f"Leads processed per day, last {CHART_DAYS} days ({campaign.timezone})",
        x_label=f"Day ({campaign.timezone})",
        y_label="Leads processed",
        unit="leads processed",
        label_every=5,
    )
    leads_url = reverse("dashboard:campaign_leads", args=[campaign.public_id])
    tiles = [
        ("queued", "Queued", counts.queued, "Waiting for a rep: not leased, not disabled."),
        ("in_progress", "In progress", counts.in_progress, "Held by a rep (leased or on a call)."),
        ("processed", "Processed", counts.processed, "A final outcome was recorded."),
        ("disabled", "Disabled", counts.disabled, "Disabled before being processed."),
        ("converted", "Converted", counts.converted, "Marked converted (any status)."),
        ("erased", "Erased", counts.erased, "Tombstones: personal data deleted."),
    ]
    return render(
        request,
        "dashboard/campaigns/detail.html",
        {
            "section": "campaigns",
            "campaign": campaign,
            "counts": counts,
            "tiles": [
                {"key": k, "label": label, "value": v, "help": h, "url": f"{leads_url}?state={k}"}
                for k, label, v, h in tiles
            ],
            "outcome_chart": outcome_chart,
            "day_chart": day_chart,
            "processed_in_window": sum(n for _, n in per_day),
            "window": window_text(campaign),
            "chart_days": CHART_DAYS,
        },
    )


@client_required
@permission_required("dashboard.view")
@require_GET
def lead_list(request: BusinessRequest, campaign_id: str) -> HttpResponse:
    campaign = _campaign(request, campaign_id)
    form = LeadFilterForm(request.GET, campaign=campaign)
    context = {"section": "campaigns", "campaign": campaign, "form": form, "page": None}
    if not form.is_valid():
        return render(request, "dashboard/leads/list.html", context, status=400)
    data = form.cleaned_data
    page = lead_table_page(
        campaign=campaign,
        filters=form.filters(),
        before=data.get("before"),
        after=data.get("after"),
        size=PAGE_SIZE,
    )
    query = form.query_without_cursor()
    prefix = f"?{query}&" if query else "?"
    context.update(
        page=page,
        paged=bool(data.get("before") or data.get("after")),
        newer_url=f"{prefix}after={page.newer}" if page.newer else None,
        older_url=f"{prefix}before={page.older}" if page.older else None,
        first_url=f"?{query}" if query else "?",
        filtered=any(data.get(k) for k in FILTER_FIELDS),
    )
    return render(request, "dashboard/leads/list.html", context)


def _lead_page(
    request: BusinessRequest,
    campaign: Campaign,
    lead: Lead,
    *,
    convert_form: ConvertForm | None = None,
    status: int = 200,
) -> HttpResponse:
    labels = {q.key: q.label for q in campaign.questions.all()}
    now = timezone.now()
    state = lead_state(lead, now)
    # Why a waiting lead has not been called: the same explanation as the API's dry run.
    outlook = lead_outlook(lead=lead, now=now) if state == "queued" else None
    return render(
        request,
        "dashboard/leads/detail.html",
        {
            "section": "campaigns",
            "campaign": campaign,
            "lead": lead,
            "state": state,
            "state_label": LEAD_STATES[state],
            "outlook": outlook,
            "outlook_dial": outlook_dial(outlook, now) if outlook is not None else "",
            "custom_fields": [(k, _text(v)) for k, v in (lead.custom_fields or {}).items()],
            "responses": [
                (labels.get(k, k), _text(v)) for k, v in (lead.lead_responses or {}).items()
            ],
            "attempts": lead_attempts_for_business(business=request.business, lead=lead),
            "convert_form": convert_form
            or ConvertForm(initial={"detail": lead.conversion_detail or ""}),
            "erased": lead.erased_at is not None,
        },
        status=status,
    )


@client_required
@permission_required("dashboard.view")
@require_GET
def lead_detail(request: BusinessRequest, campaign_id: str, lead_id: str) -> HttpResponse:
    campaign = _campaign(request, campaign_id, config=True)
    lead = found(
        lead_get_for_business,
        missing="No such lead.",
        business=request.business,
        campaign=campaign,
        lead_id=lead_id,
    )
    return _lead_viewed(request, campaign, lead)


@client_required
@permission_required("dashboard.view")
@require_GET
def lead_row(request: BusinessRequest, campaign_id: str, pk: int) -> HttpResponse:
    """By our row id: a live lead's page is its lead_id address; a tombstone is shown here."""
    campaign = _campaign(request, campaign_id, config=True)
    lead = _lead(request, campaign, pk)
    if lead.lead_id is not None:
        return _back(campaign, lead)
    return _lead_viewed(request, campaign, lead)


def _lead_viewed(request: BusinessRequest, campaign: Campaign, lead: Lead) -> HttpResponse:
    lead.campaign = campaign  # with its prefetched script, for the answers' labels
    audit.audit_request(request, "lead.view", **audit.lead_ref(campaign, lead))
    return _lead_page(request, campaign, lead)


def _back(campaign: Campaign, lead: Lead) -> HttpResponse:
    return redirect(lead_url(campaign, lead))


def _erased_refusal(request: BusinessRequest, campaign: Campaign, lead: Lead) -> HttpResponse:
    messages.error(request, "This lead was erased; nothing about it can be changed.")
    return _back(campaign, lead)


@client_required
@permission_required("leads.change")
@require_POST
def lead_disable(request: BusinessRequest, campaign_id: str, pk: int) -> HttpResponse:
    campaign = _campaign(request, campaign_id)
    lead = _lead(request, campaign, pk)
    if lead.lead_id is None:
        return _erased_refusal(request, campaign, lead)
    if lead.disabled_at is not None:
        messages.info(request, "This lead was already disabled.")
        return _back(campaign, lead)
    disabled = "Lead disabled: it gets no more calls." + (
        " Its result is kept." if lead.status == Lead.Status.PROCESSED else ""
    )
    with service_messages(request, disabled):
        lead_services.lead_disable_batch(campaign=campaign, lead_ids=[lead.lead_id])
        audit.audit_request(request, "lead.disable", **audit.lead_ref(campaign, lead))
    return _back(campaign, lead)


@client_required
@permission_required("leads.change")
@require_POST
def lead_convert(request: BusinessRequest, campaign_id: str, pk: int) -> HttpResponse:
    campaign = _campaign(request, campaign_id, config=True)
    lead = _lead(request, campaign, pk)
    lead.campaign = campaign
    if lead.lead_id is None:
        return _erased_refusal(request, campaign, lead)
    form = ConvertForm(request.POST)
    if not form.is_valid():
        return _lead_page(request, campaign, lead, convert_form=form, status=400)
    detail = form.cleaned_data["detail"]
    with service_messages(request, f"Lead marked converted ({detail})."):
        lead_services.lead_convert(campaign=campaign, lead_id=lead.lead_id, detail=detail)
        audit.audit_request(request, "lead.convert", **audit.lead_ref(campaign, lead))
    return _back(campaign, lead)


@client_required
@permission_required("leads.erase")
@require_http_methods(["GET", "POST"])
def lead_erase(request: BusinessRequest, campaign_id: str, pk: int) -> HttpResponse:
    """GET: the confirmation step; POST (with the box ticked): erase for good."""
    campaign = _campaign(request, campaign_id)
    lead = _lead(request, campaign, pk)
    if lead.lead_id is None:
        return _erased_refusal(request, campaign, lead)
    form = EraseForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        with service_messages(request, "Lead erased. Only this tombstone remains."):
            ref = audit.lead_ref(campaign, lead)  # taken before erasure clears the lead_id
            suppress = form.cleaned_data["suppress"]
            lead_services.lead_erase(campaign=campaign, lead_id=lead.lead_id, suppress=suppress)
            details = {"suppress": True} if suppress else None
            audit.audit_request(request, "lead.erase", **ref, details=details)
        lead.refresh_from_db(fields=["lead_id"])  # erased: the tombstone's page, by row id
        return _back(campaign, lead)
    return render(
        request,
        "dashboard/leads/erase.html",
        {"section": "campaigns", "campaign": campaign, "lead": lead, "form": form},
        status=400 if request.method == "POST" else 200,
    )


# The campaign's daily report (dialer.reports): attempts, connects, outcomes, conversions and
# leads processed per day, with charts and CSV. Campaign figures only: no rep is named here.


def _report(request: BusinessRequest, campaign: Campaign) -> report_pages.ReportRequest:
    return report_pages.report_request(
        params=request.GET, campaigns=[campaign], with_reps=False, choosable=False
    )


def _report_page(
    request: BusinessRequest, campaign: Campaign, result: report_pages.ReportRequest
) -> HttpResponse:
    query = request.GET.urlencode()
    csv_url = reverse("dashboard:campaign_report_csv", args=[campaign.public_id])
    context = {
        **report_pages.report_page_context(result),
        "section": "campaigns",
        "campaign": campaign,
        "campaigns_csv_url": csv_url + (f"?{query}" if query else ""),
    }
    return render(request, "dashboard/campaigns/report.html", context, status=result.status)


@client_required
@permission_required("dashboard.view")
@require_GET
def campaign_report(request: BusinessRequest, campaign_id: str) -> HttpResponse:
    campaign = _campaign(request, campaign_id)
    return _report_page(request, campaign, _report(request, campaign))


@client_required
@permission_required("dashboard.view")
@require_GET
def campaign_report_csv(request: BusinessRequest, campaign_id: str) -> HttpResponseBase:
    campaign = _campaign(request, campaign_id)
    result = _report(request, campaign)
    if result.report is None:
        return _report_page(request, campaign, result)
    return report_pages.campaigns_csv(result.report, f"{campaign.public_id}-report.csv")
