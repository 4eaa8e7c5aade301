"""Console forms: rep-only login and the disposition form built from a campaign's script."""

from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils import timezone

from leadline.accounts.models import User
from leadline.campaigns.models import Campaign, Outcome, ScriptQuestion
from leadline.campaigns.rules import ANSWER_TEXT_MAX, campaign_zone

ANSWER_PREFIX = "answer_"
YES_NO = [("yes", "Yes"), ("no", "No")]


class RepAuthenticationForm(AuthenticationForm):
    def confirm_login_allowed(self, user: User) -> None:
        super().confirm_login_allowed(user)
        if user.role not in (User.Role.REP, User.Role.SUPERVISOR):
            raise forms.ValidationError(
                "The console is for reps; this account is not a rep's.", code="not_rep"
            )


class OutcomeSelect(forms.Select):
    """A select whose options carry their outcome's effect (CSS shows the callback field)."""

    def __init__(self, effects: dict[str, str], attrs=None):
        super().__init__(attrs)
        self.effects = effects

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        effect = self.effects.get(str(value))
        if effect:
            option["attrs"]["data-effect"] = effect
        return option


def _question_field(question: ScriptQuestion) -> forms.Field:
    # Every answer is optional here: "required" binds only connected outcomes, which the
    # dialer's answers_clean decides; its errors come back onto these fields.
    help_text = "Required when the call connected." if question.required else ""
    common: dict[str, Any] = {"label": question.label, "required": False, "help_text": help_text}
    kind = question.kind
    if kind == ScriptQuestion.Kind.YES_NO:
        return forms.ChoiceField(choices=YES_NO, widget=forms.RadioSelect, **common)
    if kind == ScriptQuestion.Kind.CHOICE:
        choices = [("", "—")] + [(str(o), str(o)) for o in question.options]
        return forms.ChoiceField(choices=choices, **common)
    if kind == ScriptQuestion.Kind.NUMBER:
        return forms.CharField(
            widget=forms.NumberInput(attrs={"step": "any"}), max_length=64, **common
        )
    if kind == ScriptQuestion.Kind.DATE:
        return forms.CharField(widget=forms.DateInput(attrs={"type": "date"}), **common)
    return forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), max_length=ANSWER_TEXT_MAX, **common
    )


class DispositionForm(forms.Form):
    """The call's outcome, one input per script question, and a callback time if needed."""

    outcome = forms.ChoiceField(label="Outcome")
    callback_at = forms.DateTimeField(
        label="Call back at",
        required=False,
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    # VICIdial's USERONLY / ANYONE: a personal callback comes back to this rep when due.
    callback_for = forms.ChoiceField(
        label="Callback for",
        required=False,
        initial="anyone",
        choices=[("anyone", "Anyone"), ("me", "Me")],
        widget=forms.RadioSelect,
    )

    def __init__(self, *args, campaign: Campaign, **kwargs):
        super().__init__(*args, **kwargs)
        self.campaign = campaign
        self.tz = campaign_zone(campaign)
        self.questions = list(campaign.questions.all())
        outcomes: list[Outcome] = list(campaign.outcomes.all())
        field = self.fields["outcome"]
        assert isinstance(field, forms.ChoiceField)  # declared above
        field.choices = [("", "Pick an outcome…")] + [(o.label, o.label) for o in outcomes]
        field.widget = OutcomeSelect({o.label: o.effect for o in outcomes})
        field.widget.choices = field.choices
        self.fields["callback_at"].help_text = f"In the campaign's time zone, {campaign.timezone}."
        for question in self.questions:
            self.fields[ANSWER_PREFIX + question.key] = _question_field(question)

    def full_clean(self) -> None:
        # A datetime-local value has no zone: it means the campaign's local time.
        with timezone.override(self.tz):
            super().full_clean()

    def question_fields(self) -> list[forms.BoundField]:
        return [self[ANSWER_PREFIX + q.key] for q in self.questions]

    def answers(self) -> dict[str, Any]:
        """The filled-in answers keyed by question key (the service types and checks them)."""
        answers: dict[str, Any] = {}
        for question in self.questions:
            value = self.cleaned_data.get(ANSWER_PREFIX + question.key)
            if value in (None, ""):
                continue
            if question.kind == ScriptQuestion.Kind.CHOICE:
                # The option as configured (it may be a number in the campaign's JSON).
                value = next((o for o in question.options if str(o) == value), value)
            answers[question.key] = value
        return answers

    def add_service_errors(self, detail: str, extra: dict[str, Any]) -> None:
        """Put a service's ApiError on the fields it names, else on the form."""
        errors = extra.get("errors")
        field = extra.get("field")
        if isinstance(errors, dict) and errors:
            for key, message in errors.items():
                name = ANSWER_PREFIX + str(key)
                if name in self.fields:
                    self.add_error(name, f"{message[:1].upper()}{message[1:]}.")
                else:
                    self.add_error(None, f"“{key}” {message}.")
        elif field in self.fields:
            self.add_error(field, detail)
        else:
            self.add_error(None, detail)
