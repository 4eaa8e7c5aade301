"""A lead's phone number never reaches a rep: every console page and partial, and the logs."""

import html
import logging
import re
import unicodedata
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from leadline.accounts.models import User
from leadline.dialer.models import CallAttempt
from leadline.leads.models import Lead

from .conftest import PASSWORD, sim_speed

pytestmark = pytest.mark.django_db

NATIONAL = "9876500000"
ALT = "7000011111"  # another number a client typed into a rep-visible field


def _scan_pattern(national: str) -> re.Pattern[str]:
    # The digits in order with anything but letters and digits between them.
    return re.compile(r"[\W_]*".join(national))


def plain(text: str) -> str:
    """Text as a person reads it: entities decoded, NFKC, every decimal digit in ASCII,
    invisible format characters (zero-width space and joiners, BOM, soft hyphen) gone.

    Written here independently of leadline.core's normalisation, so the scan does not
    inherit a bug from the code it checks.
    """
    text = unicodedata.normalize("NFKC", html.unescape(text))
    out = []
    for char in text:
        if unicodedata.category(char) == "Cf":
            continue
        digit = unicodedata.decimal(char, None)
        out.append(str(digit) if digit is not None else char)
    return "".join(out)


def leaks(body: str, nationals: tuple[str, ...] = (NATIONAL,)) -> list[str]:
    text = plain(body)
    found = [m.group(0) for n in nationals for m in _scan_pattern(n).finditer(text)]
    found += [s for s in ("+91" + NATIONAL, "91" + NATIONAL, "98765 00000") if s in text]
    return found


def test_the_scan_catches_every_spelling():
    for spelling in (
        "9876500000",
        "+919876500000",
        "+91 98765 00000",
        "98765-00000",
        "987-650-0000",
        "(98765) 00000",
        "98.765.000.00",
        "98765\u201300000",
        "98765_00000",
        "98,765,00,000",
        "98765:00000",
        "98765\u200b00\u200d000",
        "\u096f\u096e\u096d\u096c\u096b\u0966\u0966\u0966\u0966\u0966",
        "\uff19\uff18\uff17\uff16\uff15\uff10\uff10\uff10\uff10\uff10",
        "98765&#x27;00000",
    ):
        assert leaks(f"<p>{spelling}</p>"), spelling
    assert not leaks("<p>+91 98XXX XXX00</p>")


def test_no_console_response_or_log_line_carries_the_number(
    client, rep, open_campaign, api, sim, caplog, django_capture_on_commit_callbacks
):
    caplog.set_level(logging.DEBUG)
    open_campaign.rep_visible_fields = ["city", "alt_contact"]
    open_campaign.save()
    phones = ["9876500000", "9876500001", "9876500002", "9876500003"]
    response = api.post(
        f"/api/v4/leads/create/{open_campaign.public_id}/",
        [
            {
                "lead_id": f"p-{i}",
                "phone_number": phone,
                # A number where only a name should be, and in a field reps may see: masked.
                "contact_name": "Meera 98765 00000" if i == 0 else f"Person {i}",
                "city": "Pune",
                "alt_contact": "home: +91-98765-00000",
                "secret_phone": "+919876500000",
            }
            for i, phone in enumerate(phones)
        ],
    )
    assert response.status_code == 201
    assert Lead.objects.get(lead_id="p-0").phone_number == "+919876500000"
    # The first lead in the queue is the one with the number we scan for.
    Lead.objects.filter(lead_id="p-0").update(priority=10)

    bodies: dict[str, str] = {}

    def visit(name, response, expect=(200, 302)):
        assert response.status_code in expect, (name, response.status_code)
        content = b"".join(response.streaming_content) if response.streaming else response.content
        bodies[name] = content.decode()
        return response

    visit("login", client.get(reverse("console:login")))
    visit("login-error", client.post(reverse("console:login"), {"username": "asha"}))
    visit(
        "login-post",
        client.post(reverse("console:login"), {"username": "asha", "password": PASSWORD}),
    )
    htmx = {"HX-Request": "true"}
    visit("home", client.get(reverse("console:home")))
    visit("campaign", client.get(reverse("console:campaign", args=[open_campaign.public_id])))
    claimed = visit("next", client.post(reverse("console:next")))
    lead_url = claimed["Location"]
    lead = Lead.objects.get(lead_id="p-0")
    assert lead_url == reverse("console:lead", args=[lead.pk])
    visit("home-held", client.get(reverse("console:home")))
    visit("lead", client.get(lead_url))
    visit("lead-htmx", client.get(lead_url, headers=htmx))
    assert "+91 98XXX XXX00" in bodies["lead"]
    assert "Meera" in bodies["lead"] and "home: +91 98XXX XXX00" in bodies["lead"]

    sim_speed(sim, 1)
    visit("call", client.post(reverse("console:call", args=[lead.pk])))
    attempt = CallAttempt.objects.get(lead=lead)
    status_url = reverse("console:call_status", args=[attempt.uuid])
    visit("lead-calling", client.get(lead_url))
    visit("status-ringing", client.get(status_url, headers=htmx))
    visit("call-again", client.post(reverse("console:call", args=[lead.pk]), follow=True))
    sim_speed(sim, 1e6)
    visit("status-done", client.get(status_url, headers=htmx))
    visit("status-plain", client.get(status_url))
    disposition_url = reverse("console:disposition", args=[attempt.uuid])
    objective = {"outcome": "Connected : Objective Met"}
    visit("form-missing", client.post(disposition_url, objective), (400,))
    past = (timezone.now() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    visit(
        "form-callback",
        client.post(
            disposition_url,
            {"outcome": "Callback Requested", "answer_interested": "yes", "callback_at": past},
        ),
        (400,),
    )
    visit(
        "form-ok",
        client.post(
            disposition_url,
            {"outcome": "Connected : Objective Met", "answer_interested": "yes"},
            follow=True,
        ),
    )
    visit("form-again", client.post(disposition_url, {"outcome": "Wrong Number"}, follow=True))
    visit("lead-after", client.get(lead_url))

    # The next lead, disabled while held; the one after, erased while held.
    for action, lead_id in (("disable", "p-1"), ("delete", "p-2")):
        claimed = client.post(reverse("console:next"))
        url = claimed["Location"]
        assert url == reverse("console:lead", args=[Lead.objects.get(lead_id=lead_id).pk])
        with django_capture_on_commit_callbacks(execute=True):
            api.post(f"/api/v4/leads/{action}/{open_campaign.public_id}/", {"lead_id": lead_id})
        visit(f"lead-{action}d", client.get(url))
        visit(f"call-{action}d", client.post(url + "call/", follow=True))

    visit("not-found", client.get(reverse("console:lead", args=[10**17])), (404,))
    unknown_call = reverse("console:call_status", args=["00000000-0000-0000-0000-000000000000"])
    visit("status-gone", client.get(unknown_call), (404,))
    visit("logout", client.post(reverse("console:logout"), follow=True))

    other = User.objects.create_user(username="boss", password=PASSWORD, business=rep.business)
    client.force_login(other)
    visit("forbidden", client.get(lead_url), (403,))

    assert len(bodies) >= 25
    found = {name: leaks(body) for name, body in bodies.items() if leaks(body)}
    assert not found, found
    log_text = "\n".join(record.getMessage() for record in caplog.records)
    assert caplog.records, "the flow logs something (and none of it is a number)"
    assert not leaks(log_text), log_text


def test_lead_card_masks_numbers_in_whatever_text_a_rep_sees():
    from leadline.campaigns.models import Campaign
    from leadline.dialer.selectors import lead_card

    campaign = Campaign(name="C", rep_visible_fields=["note", "policy", "when", "ref", "plain"])
    lead = Lead(
        campaign=campaign,
        pk=7,
        phone_number="+912223456789",  # a landline: masked by its own pattern
        contact_name="Ravi (0 22 2345 6789)",
        custom_fields={
            "note": "or his wife on 0091 98765-43210 / 7000011111",
            # Any run of seven digits or more is masked, keeping its shape and last two digits.
            "policy": "POL-2025-000123",
            "when": "2025-12-31 10:00",
            "ref": "desk ext 4455667",
            "plain": "Policy 123456, renews in 2026",
        },
    )
    card = lead_card(lead=lead)
    assert card.masked_phone == "+91 22XXX XXX89"
    assert card.contact_name == "Ravi (+91 22XXX XXX89)"
    fields = dict(card.fields)
    assert fields["note"] == "or his wife on +91 98XXX XXX10 / +91 70XXX XXX11"
    assert fields["policy"] == "POL-XXXX-XXXX23"
    assert fields["when"] == "XXXX-XX-XX XX:00"
    assert fields["ref"] == "desk ext XXXXX67"
    assert fields["plain"] == "Policy 123456, renews in 2026"  # short numbers stay
    shown = " ".join((card.contact_name, *fields.values()))
    for digits in ("98765", "43210", "7000011111", "2345 6789", "2025", "44556"):
        assert digits not in shown


def test_lead_card_keeps_a_name_without_a_number_as_written():
    from leadline.campaigns.models import Campaign
    from leadline.dialer.selectors import lead_card

    # A zero-width joiner shapes Marathi's eyelash ra: masking must not strip it from names.
    name = "\u0930\u094d\u200d\u092f \u0967\u0968"
    lead = Lead(campaign=Campaign(name="C"), pk=8, phone_number="+919876500000", contact_name=name)
    assert lead_card(lead=lead).contact_name == name


_DEVANAGARI = str.maketrans("0123456789", "".join(chr(0x0966 + d) for d in range(10)))
_FULL_WIDTH = str.maketrans("0123456789", "".join(chr(0xFF10 + d) for d in range(10)))
# Spellings of a number that a pattern of ASCII digits and the usual separators misses.
SPELLINGS = {
    "en-dash": lambda n: f"{n[:5]}\u2013{n[5:]}",
    "em-dash": lambda n: f"+91\u2014{n[:5]}\u2014{n[5:]}",
    "underscore": lambda n: f"{n[:3]}_{n[3:6]}_{n[6:]}",
    "comma": lambda n: f"{n[:2]},{n[2:5]},{n[5:7]},{n[7:]}",
    "colon": lambda n: f"{n[:5]}:{n[5:]}",
    "spaced-dash": lambda n: f"{n[:5]} - {n[5:]}",
    "zero-width": lambda n: "\u200b".join(n[:5]) + "\u200c\u200d\ufeff" + n[5:],
    "soft-hyphen": lambda n: "\u00ad".join(n),
    "devanagari": lambda n: n.translate(_DEVANAGARI),
    "full-width": lambda n: "\uff0b\uff19\uff11 " + n.translate(_FULL_WIDTH),
    "mixed": lambda n: (
        n[:3].translate(_DEVANAGARI) + "\u2011" + n[3:6].translate(_FULL_WIDTH) + "\u200b_" + n[6:]
    ),
}


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_numbers_in_any_spelling_are_masked_on_every_rep_page(
    client, rep, open_campaign, api, sim, caplog, spelling
):
    caplog.set_level(logging.DEBUG)
    spell = SPELLINGS[spelling]
    open_campaign.rep_visible_fields = ["alt_contact", "note"]
    open_campaign.save()
    response = api.post(
        f"/api/v4/leads/create/{open_campaign.public_id}/",
        [
            {
                "lead_id": "spelled",
                "phone_number": NATIONAL,
                "contact_name": f"Meera {spell(NATIONAL)}",
                "alt_contact": f"home: {spell(NATIONAL)}",
                "note": ["wife", spell(ALT)],
            }
        ],
    )
    assert response.status_code == 201
    client.force_login(rep)
    bodies = {}
    lead_url = client.post(reverse("console:next"))["Location"]
    lead = Lead.objects.get(lead_id="spelled")
    assert lead_url == reverse("console:lead", args=[lead.pk])
    bodies["home"] = client.get(reverse("console:home")).content.decode()
    bodies["lead"] = client.get(lead_url).content.decode()
    bodies["lead-htmx"] = client.get(lead_url, headers={"HX-Request": "true"}).content.decode()
    sim_speed(sim, 1e6)
    called = client.post(reverse("console:call", args=[lead.pk]), follow=True)
    bodies["call"] = called.content.decode()
    attempt = CallAttempt.objects.get(lead=lead)
    status_url = reverse("console:call_status", args=[attempt.uuid])
    bodies["status"] = client.get(status_url).content.decode()

    # The page did render the name and fields (masked), so the scan below is not vacuous.
    assert "Meera" in bodies["lead"] and "home: " in bodies["lead"] and "wife" in bodies["lead"]
    found = {name: leaks(body, (NATIONAL, ALT)) for name, body in bodies.items()}
    assert not any(found.values()), found
    log_text = "\n".join(record.getMessage() for record in caplog.records)
    assert not leaks(log_text, (NATIONAL, ALT)), log_text
