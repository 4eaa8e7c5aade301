"""Campaign rules applied by the dialer: the calling window and the script's answers."""

from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .models import Campaign, ScriptQuestion

ANSWER_TEXT_MAX = 2000


@lru_cache(maxsize=64)
def zone_named(name: str) -> ZoneInfo:
    """The time zone called `name`, or UTC when this machine's tz database lacks it (a
    campaign saved under a zone a later tzdata dropped must still load). Cached: the dialer
    and the reports ask for the same few zones on every call and state change."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def campaign_zone(campaign: Campaign) -> ZoneInfo:
    """The zone of the campaign's calling window and of its days in counts and reports."""
    return zone_named(campaign.timezone)


def window_open(campaign: Campaign, at: datetime) -> bool:
    """Whether `at` falls in the campaign's calling window (its local days and hours)."""
    local = at.astimezone(campaign_zone(campaign))
    return (
        local.weekday() in campaign.window_days
        and campaign.window_start <= local.time() < campaign.window_end
    )


def window_next_open(campaign: Campaign, at: datetime) -> datetime | None:
    """The first moment at or after `at` inside the campaign's calling window (`at` itself
    when it is open), or None when the window has no days at all."""
    zone = campaign_zone(campaign)
    local_day = at.astimezone(zone).date()
    # A week and a day: every weekday is met, and today's window may already be over.
    for offset in range(8):
        day = local_day + timedelta(days=offset)
        if day.weekday() not in campaign.window_days:
            continue
        opens = datetime.combine(day, campaign.window_start, tzinfo=zone)
        closes = datetime.combine(day, campaign.window_end, tzinfo=zone)
        if at < closes:
            return max(at, opens)
    return None


class AnswerError(Exception):
    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))


def _clean(question: ScriptQuestion, value: Any) -> Any:
    kind = question.kind
    if kind == ScriptQuestion.Kind.TEXT:
        if not isinstance(value, str) or len(value) > ANSWER_TEXT_MAX or "\x00" in value:
            raise ValueError(f"must be text of at most {ANSWER_TEXT_MAX} characters")
        return value.strip()
    if kind == ScriptQuestion.Kind.NUMBER:
        if isinstance(value, bool):
            raise ValueError("must be a number")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ValueError("must be a number") from None
        if number != number or number in (float("inf"), float("-inf")):
            raise ValueError("must be a number")
        return int(number) if number.is_integer() else number
    if kind == ScriptQuestion.Kind.YES_NO:
        normalized = {True: "yes", False: "no", "yes": "yes", "no": "no"}.get(
            value.strip().lower() if isinstance(value, str) else value
        )
        if normalized is None:
            raise ValueError("must be yes or no")
        return normalized
    if kind == ScriptQuestion.Kind.CHOICE:
        if value not in question.options:
            raise ValueError("must be one of the listed options")
        return value
    if kind == ScriptQuestion.Kind.DATE:
        try:
            return date.fromisoformat(str(value)).isoformat()
        except ValueError:
            raise ValueError("must be a date (YYYY-MM-DD)") from None
    raise ValueError("unknown question type")


def answers_clean(
    questions: list[ScriptQuestion], answers: dict[str, Any], *, connected: bool
) -> dict[str, Any]:
    """The answers keyed by question, typed; required questions only bind connected calls."""
    errors: dict[str, str] = {}
    by_key = {q.key: q for q in questions}
    for key in answers:
        if key not in by_key:
            errors[key] = "is not a question of this script"
    cleaned: dict[str, Any] = {}
    for question in questions:
        value = answers.get(question.key)
        if value is None or (isinstance(value, str) and not value.strip()):
            if connected and question.required:
                errors[question.key] = "is required for a connected call"
            continue
        try:
            cleaned[question.key] = _clean(question, value)
        except ValueError as exc:
            errors[question.key] = str(exc)
    if errors:
        raise AnswerError(errors)
    return cleaned
