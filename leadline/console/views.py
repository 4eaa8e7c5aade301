"""The rep console: thin views that parse, call one dialer service or selector, and render.

Pages work as plain forms and links; htmx (`hx-boost` on the body, and polling of the call's
status) only makes them smoother. Domain errors (`ApiError`) become messages or form errors
with their status, never a 500. Nothing here logs or renders a lead's phone number: templates
get `selectors.lead_card`/`call_view` values, which carry only the masked form.
"""

import logging
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from leadline.accounts.decorators import role_required
from leadline.accounts.http import RepRequest
from leadline.accounts.models import User
from leadline.core.errors import ApiError
from leadline.dialer import selectors, services
from leadline.dialer.models import CallAttempt
from leadline.dialer.services import DispositionResult
from leadline.leads.models import Lead

from .forms import DispositionForm, RepAuthenticationForm

logger = logging.getLogger(__name__)


rep_required = role_required(
    User.Role.REP, login_url="console:login", forbidden_template="console/forbidden.html"
)


class LoginView(auth_views.LoginView):
    template_name = "console/login.html"
    authentication_form = RepAuthenticationForm
    next_page = "console:home"  # a URL name: resolve_url() reverses it per request


class LogoutView(auth_views.LogoutView):
    next_page = "console:login"


def _problem(request: HttpRequest, exc: ApiError) -> HttpResponse:
    return render(request, "console/problem.html", {"detail": exc.detail}, status=exc.status)


@rep_required
@require_GET
def home(request: RepRequest) -> HttpResponse:
    rep = request.user
    held = services.lead_held_by(rep=rep)
    context = {
        "campaigns": selectors.rep_campaigns(rep=rep),
        "figures": selectors.rep_figures_today(rep=rep),
        "held": selectors.lead_card(lead=held) if held is not None else None,
    }
    return render(request, "console/home.html", context)


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
    lead = services.lead_claim(rep=request.user)
    if lead is None:
        messages.info(
            request,
            "No lead is due right now in your campaigns (see their calling hours below). "
            "Try again in a little while.",
        )
        return redirect("console:home")
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
        "card": selectors.lead_card(lead=lead),
        "availability": availability,
        "campaign": lead.campaign,
        "questions": list(lead.campaign.questions.all()),
        "call": selectors.call_view(attempt=attempt) if attempt is not None else None,
        "form": form if show_form else None,
        "figures": selectors.rep_figures_today(rep=rep),
    }
    return render(request, "console/lead.html", context, status=status)


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
    context = {"call": selectors.call_view(attempt=attempt), "lead_pk": attempt.lead_id}
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
        tz = ZoneInfo(result.lead.campaign.timezone)
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
