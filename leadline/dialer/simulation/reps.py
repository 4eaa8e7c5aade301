"""The simulated reps: who they are, and each one's loop of claim, call and outcome."""

import logging
import random
import time

from django.db import connections, transaction

from leadline.accounts.models import User
from leadline.campaigns.models import Campaign, Outcome
from leadline.campaigns.rules import campaign_zone
from leadline.core.errors import ApiError, Conflict
from leadline.leads.models import Lead

from .. import services
from ..models import CallAttempt
from .choices import answers_generate, callback_time, outcome_choose
from .state import PROGRESSIVE, Clock, RunState

# The simulation logs under one name, whichever of its modules speaks.
logger = logging.getLogger(__package__)

# A simulated call still going after this long (simulated time) is hung up on.
HANG_UP_AFTER_SECONDS = 3600


def sim_reps_ensure(*, campaign: Campaign, count: int) -> list[User]:
    """Reps `sim-rep-1..count` of the campaign's business, assigned to this campaign only.

    A name taken by another business's user gets a `-b<business id>` suffix. The simulated
    reps are taken off other campaigns so that they work this campaign's leads only.
    """
    business = campaign.business
    reps: list[User] = []
    with transaction.atomic():
        for number in range(1, count + 1):
            username = f"sim-rep-{number}"
            user = User.objects.filter(username=username).first()
            if user is not None and user.business_id != business.pk:
                username = f"sim-rep-{number}-b{business.pk}"
                user = User.objects.filter(username=username).first()
            if user is None:
                user = User(username=username, business=business)
                user.set_unusable_password()  # nobody logs in as a simulated rep
            user.role = User.Role.REP
            user.first_name = f"Simulated rep {number}"
            user.phone_number = user.phone_number or f"+9190{number:08d}"
            user.save()
            user.rep_campaigns.set([campaign])
            reps.append(user)
    return reps


def _finished_call(attempt: CallAttempt, clock: Clock, speed: float) -> CallAttempt:
    """Poll the provider like the console does until the call is over (or hang up)."""
    give_up = time.monotonic() + max(1.0, HANG_UP_AFTER_SECONDS / speed)
    pause = 0.0005
    while True:
        attempt = services.call_refresh(attempt=attempt, now=clock())
        if attempt.telephony_status in CallAttempt.FINISHED or time.monotonic() > give_up:
            return attempt
        time.sleep(pause)
        pause = min(pause * 2, 0.5)


def _open_attempt(rep: User, lead: Lead) -> CallAttempt | None:
    return CallAttempt.objects.filter(
        lead=lead, rep=rep, disposed_at__isnull=True, discarded=False
    ).first()


def _work_lead(run: RunState, rep: User, lead: Lead, speed: float) -> None:
    clock = run.clock
    attempt_number = lead.attempts_count + 1
    try:
        attempt = services.call_place(rep=rep, lead_pk=lead.pk, now=clock())
    except services.LeadUnavailable:
        # Disabled or erased by the client between the claim and the call.
        run.count("state", "unavailable")
        return
    except Conflict:
        # A call of an earlier, interrupted run awaits its outcome: finish that one first,
        # as the console would.
        open_attempt = _open_attempt(rep, lead)
        if open_attempt is None:
            raise
        attempt = open_attempt
        attempt_number -= 1
    attempt = _finished_call(attempt, clock, speed)
    campaign = lead.campaign
    outcomes, questions = run.script(campaign)
    rng = random.Random(f"{run.seed}:{lead.lead_id}:{attempt_number}")
    outcome = outcome_choose(outcomes, attempt.telephony_status, rng)
    now = clock()
    today = now.astimezone(campaign_zone(campaign)).date()
    callback_at = (
        callback_time(campaign, now, rng) if outcome.effect == Outcome.Effect.CALLBACK else None
    )
    result = services.disposition_submit(
        rep=rep,
        attempt_uuid=str(attempt.uuid),
        outcome_label=outcome.label,
        answers=answers_generate(questions, outcome, rng, today),
        callback_at=callback_at,
        now=now,
        skip_delays=run.fast_forward,
    )
    run.count("telephony", attempt.telephony_status)
    run.count("outcome", outcome.label)
    run.count("state", result.state)
    if result.state == "processed":
        run.count("processed", outcome.label)


def rep_work(run: RunState, rep: User, speed: float) -> None:
    progressive = run.mode == PROGRESSIVE
    try:
        if progressive:
            # As a rep at the console: available first; the services move them through
            # on_call, wrap_up and back to available with each call.
            services.rep_available(rep=rep, now=run.clock())
        while (lead := run.claim(rep)) is not None:
            try:
                with run.lock:
                    run.worked_lead_pks.add(lead.pk)
                _work_lead(run, rep, lead, speed)
            finally:
                run.done()
    except Exception as exc:
        logger.exception("simulated rep %s stopped", rep.username)
        detail = exc.body() if isinstance(exc, ApiError) else repr(exc)
        run.stop(f"{rep.username}: {detail}")
    finally:
        if progressive:
            try:
                services.rep_offline(rep_id=rep.pk, now=run.clock())  # signs out
            except Exception:
                logger.exception("simulated rep %s could not sign out", rep.username)
        # Each thread opened its own connections; leave none behind.
        connections.close_all()
