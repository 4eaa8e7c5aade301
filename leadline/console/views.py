"""The rep console: thin views that parse, call one dialer service or selector, and render.

Pages work as plain forms and links; htmx (`hx-boost` on the body, and polling of the call's
status) only makes them smoother. Domain errors (`ApiError`) become messages or form errors
with their status, never a 500. Nothing here logs or renders a lead's phone number: templates
get `selectors.lead_card`/`call_view` values, which carry only the masked form.
"""

import logging
from typing import Any

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from leadline.accounts.decorators import role_required
from leadline.accounts.http import RepRequest
from leadline.accounts.models import User
from leadline.campaigns.rules import campaign_zone
from leadline.core.errors import ApiError
from leadline.dialer import floor, report_pages, selectors, services
from leadline.dialer.models import CallAttempt, RepState
from leadline.dialer.services import DispositionResult
from leadline.leads.models import Lead

from .forms import DispositionForm, RepAuthenticationForm

logger = logging.getLogger(__name__)


rep_required = role_required(
    User.Role.REP, login_url="console:login", forbidden_template="console/forbidden.html"
)


supervisor_required = role_required(
    User.Role.SUPERVISOR, login_url="console:login", forbidden_template="console/forbidden.html"
)


class LoginView(auth_views.LoginView):
    template_name = "console/login.html"
    authentication_form = RepAuthenticationForm
    next_page = "console:home"  # a URL name: resolve_url() reverses it per request

    def get_success_url(self):
        # Supervisors land on the wallboard (a `next` of the rep pages would only say
        # "not for you"), reps on their campaigns or where they were going.
        if getattr(self.request.user, "role", None) == User.Role.SUPERVISOR:
            wanted = self.get_redirect_url()
            floor_url = reverse("console:floor")
            return wanted if wanted.startswith(floor_url) else floor_url
        return super().get_success_url()


class LogoutView(auth_views.LogoutView):
    next_page = "console:login"

    def post(self, request, *args, **kwargs):
        # Signing out takes the rep offline and puts the lead they hold back in the queue.
        if request.user.is_authenticated and request.user.role == User.Role.REP:
            services.rep_offline(rep_id=request.user.pk)
        return super().post(request, *args, **kwargs)


# Reasons a rep may give for skipping a lead in progressive mode (recorded with the skip).
SKIP_REASONS = [
    "Needs a look at the notes first",
    "Called this person recently",
    "Not the right time for this lead",
    "Other",
]


def _floor(rep: User, campaigns: list[selectors.RepCampaign] | None = None) -> dict[str, Any]:
    """The rep's state panel: state, pause codes, and whether progressive dialing runs."""
    state = services.rep_state_get(rep=rep)
    campaigns = campaigns if campaigns is not None else selectors.rep_campaigns(rep=rep)
    progressive = any(c.calling_now and c.dial_mode == "progressive" for c in campaigns)
    return {
        "state": state,
        "state_label": dict(RepState.State.choices).get(state.state, state.state),
        "pause_codes": selectors.pause_codes(),
        "progressive": progressive,
        "running": progressive and state.state == RepState.State.AVAILABLE,
    }


def _problem(request: HttpRequest, exc: ApiError) -> HttpResponse:
    return render(request, "console/problem.html", {"detail": exc.detail}, status=exc.status)


@rep_required
@require_GET
def home(request: RepRequest) -> HttpResponse:
    rep = request.user
    held = services.lead_held_by(rep=rep)
    campaigns = selectors.rep_campaigns(rep=rep)
    context = {
        "campaigns": campaigns,
        "figures": selectors.rep_figures_today(rep=rep),
        "held": selectors.lead_card(lead=held) if held is not None else None,
        # Progressive: an available rep's console takes the next lead by itself, sooner
        # after an outcome than after finding the queue empty.
        "auto_next_seconds": 10 if request.GET.get("waiting") else 1,
        **_floor(rep, campaigns),
    }
    return render(request, "console/home.html", context)


@rep_required
@require_POST
def state(request: RepRequest) -> HttpResponse:
    """Available, pause (with a code) or offline, from the rep's state panel."""
    rep = request.user
    action = request.POST.get("action", "")
    try:
        if action == "available":
            services.rep_available(rep=rep)
        elif action == "pause":
            view = services.rep_pause(rep=rep, code=request.POST.get("code", ""))
            if view.pause_after:
                messages.info(request, "You will be paused once this call's outcome is saved.")
        elif action == "offline":
            services.rep_offline(rep_id=rep.pk)
        else:
            messages.error(request, "Unknown state change.")
    except ApiError as exc:
        messages.error(request, exc.detail)
    back = request.POST.get("back", "")
    if back.startswith("/console/") and "//" not in back:
        return redirect(back)
    return redirect("console:home")


@rep_required
@require_POST
def heartbeat(request: RepRequest) -> HttpResponse:
    """The open console's sign of life (every 30 s): silent for two minutes means offline."""
    services.rep_heartbeat(rep=request.user)
    return HttpResponse(status=204)


@rep_required
@require_POST
def skip(request: RepRequest, lead_pk: int) -> HttpResponse:
    reason = request.POST.get("reason", "")
    if reason not in SKIP_REASONS:
        messages.error(request, "Pick a reason for skipping this lead.")
        return redirect("console:lead", lead_pk=lead_pk)
    try:
        services.lead_skip(rep=request.user, lead_pk=lead_pk, reason=reason)
    except ApiError as exc:
        messages.error(request, exc.detail)
        return redirect("console:lead", lead_pk=lead_pk)
    messages.info(request, "Skipped; the lead went back to the queue.")
    return redirect("console:home")


@rep_required
@require_GET
def campaign(request: RepRequest, public_id: str) -> HttpResponse:
    rep = request.user
    try:
        found = selectors.rep_campaign_get(rep=rep, public_id=public_id)
    except ApiError as exc:
        return _problem(request, exc)
    context = {
        "campaign": found,
        "summary": selectors.campaign_summary(campaign=found),
        "figures": selectors.rep_figures_today(rep=rep),
    }
    return render(request, "console/campaign.html", context)


@rep_required
@require_POST
def next_lead(request: RepRequest) -> HttpResponse:
    if services.rep_state_get(rep=request.user).state in ("offline", "paused"):
        services.rep_available(rep=request.user)  # taking a lead is working again
    lead = services.lead_claim(rep=request.user)
    if lead is None:
        messages.info(
            request,
            "No lead is due right now in your campaigns (see their calling hours below). "
            "Try again in a little while.",
        )
        return redirect(reverse("console:home") + "?waiting=1")
    logger.info("rep %s holds lead %s", request.user.pk, lead.pk)
    return redirect("console:lead", lead_pk=lead.pk)


def _lead_page(
    request: RepRequest,
    lead: Lead,
    attempt: CallAttempt | None,
    form: DispositionForm | None = None,
    status: int = 200,
) -> HttpResponse:
    rep = request.user
    availability = selectors.lead_availability(rep=rep, lead=lead)
    # An erased lead's call can only be discarded: no form, just the way on.
    show_form = attempt is not None and availability.kind != "erased"
    if show_form and form is None:
        form = DispositionForm(campaign=lead.campaign)
    context = {
        **_floor(rep),
        "wrap_up": _wrap_up(attempt),
        "skip_reasons": SKIP_REASONS,
        "card": selectors.lead_card(lead=lead),
        "availability": availability,
        "campaign": lead.campaign,
        "questions": list(lead.campaign.questions.all()),
        "call": selectors.call_view(attempt=attempt) if attempt is not None else None,
        "form": form if show_form else None,
        "figures": selectors.rep_figures_today(rep=rep),
    }
    return render(request, "console/lead.html", context, status=status)


def _wrap_up(attempt: CallAttempt | None) -> dict[str, Any] | None:
    """The wrap-up clock once the call ended: since when, the campaign's limit, over it?"""
    if attempt is None or attempt.telephony_status not in CallAttempt.FINISHED:
        return None
    since = attempt.ended_at or attempt.checked_at or timezone.now()
    limit = attempt.campaign.wrap_up_seconds
    spent = max(0, int((timezone.now() - since).total_seconds()))
    return {"since": since.isoformat(), "limit": limit, "spent": spent, "over": spent > limit}


@rep_required
@require_GET
def lead(request: RepRequest, lead_pk: int) -> HttpResponse:
    try:
        found = selectors.rep_lead_get(rep=request.user, lead_pk=lead_pk)
    except ApiError as exc:
        return _problem(request, exc)
    attempt = selectors.call_open(rep=request.user, lead=found)
    if attempt is not None:
        attempt = services.call_refresh(attempt=attempt)
    return _lead_page(request, found, attempt)


@rep_required
@require_POST
def call(request: RepRequest, lead_pk: int) -> HttpResponse:
    try:
        attempt = services.call_place(rep=request.user, lead_pk=lead_pk)
    except ApiError as exc:
        messages.error(request, exc.detail)
    else:
        logger.info("rep %s placed call %s", request.user.pk, attempt.uuid)
    return redirect("console:lead", lead_pk=lead_pk)


@rep_required
@require_GET
def call_status(request: RepRequest, attempt_uuid) -> HttpResponse:
    """The polled partial: the call's status and talk time; polling stops once it ends."""
    try:
        attempt = selectors.rep_call_get(rep=request.user, attempt_uuid=str(attempt_uuid))
    except ApiError as exc:
        return render(request, "console/_call_gone.html", {"detail": exc.detail}, status=exc.status)
    attempt = services.call_refresh(attempt=attempt)
    context = {
        "call": selectors.call_view(attempt=attempt),
        "lead_pk": attempt.lead_id,
        "wrap_up": _wrap_up(attempt),
        # The state panel follows the call (on a call, then wrap-up), swapped out of band.
        **_floor(request.user),
        "back": reverse("console:lead", args=[attempt.lead_id]),
    }
    return render(request, "console/_call_status.html", context)


def _result_message(result: DispositionResult) -> tuple[int, str]:
    outcome = result.attempt.outcome
    if result.state == "discarded":
        return messages.WARNING, (
            "This lead was erased during the call; what you captured was discarded."
        )
    if result.state == "stopped":
        if result.lead.disabled_at is not None:
            return messages.WARNING, (
                f"Saved “{outcome}”. The client disabled this lead during the call: "
                "it will not be called again."
            )
        return messages.WARNING, (
            f"Saved “{outcome}”. This lead was no longer yours, so nothing else changes."
        )
    if result.state == "callback":
        tz = campaign_zone(result.lead.campaign)
        callback_at = result.attempt.callback_at
        assert callback_at is not None  # a callback outcome always books a time
        when = callback_at.astimezone(tz).strftime("%a %d %b, %H:%M")
        return messages.SUCCESS, f"Saved “{outcome}”. Callback booked for {when} ({tz.key})."
    if result.state == "retry":
        return messages.SUCCESS, f"Saved “{outcome}”. The lead will be tried again later."
    return messages.SUCCESS, f"Saved “{outcome}”. The lead is processed."


@rep_required
@require_POST
def disposition(request: RepRequest, attempt_uuid) -> HttpResponse:
    rep = request.user
    try:
        attempt = selectors.rep_call_get(rep=rep, attempt_uuid=str(attempt_uuid))
    except ApiError as exc:
        return _problem(request, exc)
    form = DispositionForm(request.POST, campaign=attempt.campaign)
    status = 400
    if form.is_valid():
        try:
            result = services.disposition_submit(
                rep=rep,
                attempt_uuid=str(attempt.uuid),
                outcome_label=form.cleaned_data["outcome"],
                answers=form.answers(),
                callback_at=form.cleaned_data["callback_at"],
                callback_for=form.cleaned_data["callback_for"] or services.CALLBACK_ANYONE,
            )
        except ApiError as exc:
            if not exc.extra:
                # Not about the form (e.g. already recorded): say so on the lead's page.
                messages.error(request, exc.detail)
                return redirect("console:lead", lead_pk=attempt.lead_id)
            form.add_service_errors(exc.detail, exc.extra)
            status = exc.status
        else:
            level, text = _result_message(result)
            messages.add_message(request, level, text)
            logger.info("rep %s recorded call %s: %s", rep.pk, attempt.uuid, result.state)
            return redirect("console:home")
    return _lead_page(request, attempt.lead, attempt, form=form, status=status)


# The supervisor's wallboard: the same snapshot as a page (refreshed by htmx polling) and as
# JSON for wall displays. No lead's number is ever read for it (dialer.floor).


def _floor_context(request: RepRequest) -> dict[str, Any]:
    return {
        "floor": floor.floor_snapshot(supervisor=request.user),
        "codes": selectors.pause_codes(),
    }


@supervisor_required
@require_GET
def floor_page(request: RepRequest) -> HttpResponse:
    return render(request, "console/floor.html", _floor_context(request))


@supervisor_required
@require_GET
def floor_board(request: RepRequest) -> HttpResponse:
    """The polled part of the wallboard (every few seconds)."""
    return render(request, "console/_floor_board.html", _floor_context(request))


@supervisor_required
@require_GET
def floor_json(request: RepRequest) -> JsonResponse:
    return JsonResponse(floor.floor_snapshot(supervisor=request.user).as_dict())


@supervisor_required
@require_POST
def floor_force(request: RepRequest, rep_id: int) -> HttpResponse:
    """Force a rep to pause (with a code) or offline; either way their held lead is released."""
    rep = floor.supervised_rep_get(supervisor=request.user, rep_id=rep_id)
    if rep is None:
        messages.error(request, "No such rep on your floor.")
        return redirect("console:floor")
    action = request.POST.get("action", "")
    try:
        if action == "pause":
            services.rep_force_pause(rep=rep, code=request.POST.get("code", ""))
        elif action == "offline":
            services.rep_offline(rep_id=rep.pk)
        else:
            messages.error(request, "Unknown action.")
            return redirect("console:floor")
    except ApiError as exc:
        messages.error(request, exc.detail)
        return redirect("console:floor")
    logger.info("supervisor %s forced rep %s: %s", request.user.pk, rep.pk, action)
    messages.success(request, f"{rep.username}: {action} forced.")
    return redirect("console:floor")


@supervisor_required
@require_POST
def floor_reassign(request: RepRequest, lead_pk: int) -> HttpResponse:
    """Give a personal callback to another rep of its campaign, or to anyone. A refusal (not
    on your floor, a rep not on the campaign, the lead held now) shows the floor with the
    reason and its 4xx status; nothing changes."""
    try:
        lead = services.callback_reassign(
            supervisor=request.user, lead_pk=lead_pk, to=request.POST.get("to", "")
        )
    except ApiError as exc:
        messages.error(request, exc.detail)
        return render(request, "console/floor.html", _floor_context(request), status=exc.status)
    logger.info("supervisor %s reassigned the callback of lead %s", request.user.pk, lead.pk)
    who = lead.reserved_for.username if lead.reserved_for else "anyone"
    messages.success(request, f"The callback of lead #{lead.pk} now goes to {who}.")
    return redirect("console:floor")


# The daily reports, for supervisors: their campaigns (every campaign when none is named for
# them), per rep and per campaign, with charts and CSV (dialer.report_pages).


def _reports(request: RepRequest) -> tuple[list[Any], report_pages.ReportRequest]:
    campaigns = list(floor.supervised_campaigns(supervisor=request.user))
    result = report_pages.report_request(params=request.GET, campaigns=campaigns, with_reps=True)
    return campaigns, result


def _reports_page(request: RepRequest, campaigns: list[Any], result: Any) -> HttpResponse:
    query = request.GET.urlencode()
    suffix = f"?{query}" if query else ""
    context = {
        **report_pages.report_page_context(result),
        "campaign_choices": campaigns,
        "reps_csv_url": reverse("console:reports_reps_csv") + suffix,
        "campaigns_csv_url": reverse("console:reports_campaigns_csv") + suffix,
    }
    return render(request, "console/reports.html", context, status=result.status)


@supervisor_required
@require_GET
def reports_page(request: RepRequest) -> HttpResponse:
    campaigns, result = _reports(request)
    return _reports_page(request, campaigns, result)


@supervisor_required
@require_GET
def reports_reps_csv(request: RepRequest) -> HttpResponseBase:
    campaigns, result = _reports(request)
    if result.report is None:
        return _reports_page(request, campaigns, result)
    return report_pages.reps_csv(result.report, "rep-days.csv")


@supervisor_required
@require_GET
def reports_campaigns_csv(request: RepRequest) -> HttpResponseBase:
    campaigns, result = _reports(request)
    if result.report is None:
        return _reports_page(request, campaigns, result)
    return report_pages.campaigns_csv(result.report, "campaign-days.csv")
