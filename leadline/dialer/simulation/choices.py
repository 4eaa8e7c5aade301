"""What a simulated rep picks and answers: plausible, and repeatable from the run's seed."""

import random
from datetime import date, datetime, timedelta
from typing import Any

from leadline.campaigns.models import Campaign, Outcome, ScriptQuestion
from leadline.campaigns.rules import campaign_zone, window_open

from ..models import CallAttempt

CALLBACK_CHANCE = 0.15
WRONG_NUMBER_CHANCE = 0.05
OPTIONAL_ANSWER_CHANCE = 0.7
NOTES = (
    "Asked for the details on WhatsApp.",
    "Prefers calls after 6 pm.",
    "Already has a policy with another insurer.",
    "Wants to discuss with family first.",
    "Asked about the premium for two adults.",
    "Happy with the current plan.",
    "Requested a brochure by email.",
    "Will decide after salary credit.",
)
_POSITIVE_WORDS = ("objective met", "interested", "sale", "converted", "yes")
_NEGATIVE_WORDS = ("not interested", "declined", "refused", "no ")


def outcome_choose(outcomes: list[Outcome], telephony_status: str, rng: random.Random) -> Outcome:
    """An outcome consistent with the call: connected outcomes only if someone answered."""
    # Simulated people never ask not to be called: a do-not-call outcome would put the
    # campaign's numbers on the business's real do-not-call list.
    outcomes = [o for o in outcomes if not o.do_not_call] or outcomes
    if telephony_status in (CallAttempt.TelephonyStatus.COMPLETED, "answered"):
        connected = [o for o in outcomes if o.connected]
        callbacks = [o for o in connected if o.effect == Outcome.Effect.CALLBACK]
        finals = [o for o in connected if o.effect != Outcome.Effect.CALLBACK]
        # Someone answered, but not the person the lead names.
        wrong = [o for o in outcomes if not o.connected and o.effect == Outcome.Effect.FINAL]
        draw = rng.random()
        if callbacks and draw < CALLBACK_CHANCE:
            return rng.choice(callbacks)
        if wrong and draw < CALLBACK_CHANCE + WRONG_NUMBER_CHANCE:
            return rng.choice(wrong)
        return rng.choice(finals or connected or outcomes)
    not_connected = [o for o in outcomes if not o.connected]
    retries = [o for o in not_connected if o.effect == Outcome.Effect.RETRY]
    word = "busy" if telephony_status == CallAttempt.TelephonyStatus.BUSY else "no answer"
    named = [o for o in retries if word in o.label.lower()]
    return rng.choice(named or retries or not_connected)


def _yes_no_answer(outcome: Outcome, rng: random.Random) -> str:
    label = f"{outcome.label.lower()} "
    if any(word in label for word in _NEGATIVE_WORDS):
        return "no" if rng.random() < 0.9 else "yes"
    if any(word in label for word in _POSITIVE_WORDS):
        return "yes" if rng.random() < 0.9 else "no"
    return rng.choice(("yes", "no"))


def _number_answer(key: str, rng: random.Random) -> int:
    key = key.lower()
    if "age" in key:
        return rng.randint(21, 65)
    if any(w in key for w in ("amount", "budget", "premium", "price", "income", "salary", "sum")):
        return rng.randrange(5, 500) * 1000
    if any(w in key for w in ("count", "members", "children", "quantity", "qty", "family")):
        return rng.randint(0, 6)
    if any(w in key for w in ("rating", "score")):
        return rng.randint(1, 10)
    return rng.randint(1, 100)


def answers_generate(
    questions: list[ScriptQuestion], outcome: Outcome, rng: random.Random, today: date
) -> dict[str, Any]:
    """Plausible answers to the script for a connected call; none for a call nobody took."""
    if not outcome.connected:
        return {}
    answers: dict[str, Any] = {}
    for question in questions:
        if not question.required and rng.random() >= OPTIONAL_ANSWER_CHANCE:
            continue
        kind = question.kind
        if kind == ScriptQuestion.Kind.YES_NO:
            answers[question.key] = _yes_no_answer(outcome, rng)
        elif kind == ScriptQuestion.Kind.CHOICE:
            if question.options:
                answers[question.key] = rng.choice(question.options)
        elif kind == ScriptQuestion.Kind.NUMBER:
            answers[question.key] = _number_answer(question.key, rng)
        elif kind == ScriptQuestion.Kind.DATE:
            answers[question.key] = (today + timedelta(days=rng.randint(1, 45))).isoformat()
        else:
            answers[question.key] = rng.choice(NOTES)
    return answers


def callback_time(campaign: Campaign, now: datetime, rng: random.Random) -> datetime:
    """A future moment inside the calling window, today or within the next few days."""
    zone = campaign_zone(campaign)
    local_now = now.astimezone(zone)
    start = campaign.window_start.hour * 60 + campaign.window_start.minute
    end = campaign.window_end.hour * 60 + campaign.window_end.minute
    day_offset = rng.choice((0, 1, 1, 2, 3))
    for _ in range(8):
        day = local_now.date() + timedelta(days=day_offset)
        minute = rng.randrange(start, max(start + 1, end), 15) if end > start else start
        local = datetime(day.year, day.month, day.day, minute // 60, minute % 60, tzinfo=zone)
        if local > local_now + timedelta(minutes=15) and window_open(campaign, local):
            return local
        day_offset += 1
    return now + timedelta(hours=2)
