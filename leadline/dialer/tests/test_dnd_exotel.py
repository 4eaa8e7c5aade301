"""DND from Exotel's number metadata, against the fake Exotel over HTTP: the provider's
lookup, then the dnd-lookups loop and the claim; a DND number is never sent to be dialled."""

import logging
from datetime import time

import pytest
from django.utils import timezone

from leadline.campaigns.models import Campaign, TelephonyAccount
from leadline.compliance.decisions import NOT_CALLED_DND
from leadline.compliance.dnd import dnd_cached
from leadline.compliance.hashing import number_hash
from leadline.compliance.models import DndStatus
from leadline.dialer import services
from leadline.dialer.dnd import DndLookups
from leadline.dialer.models import CallAttempt
from leadline.dialer.telephony import Line, ProviderError
from leadline.dialer.telephony.exotel import ExotelProvider
from leadline.leads.models import Lead
from tests.fakes.exotel import FakeExotel

from .conftest import make_rep

pytestmark = pytest.mark.django_db

DND_NUMBER = "+919876543210"
FREE_NUMBER = "+919876543211"


@pytest.fixture
def fake():
    with FakeExotel() as server:
        yield server


@pytest.fixture(autouse=True)
def all_logs(caplog):
    caplog.set_level(logging.DEBUG)
    yield caplog
    assert "9876543210" not in caplog.text and "9876543211" not in caplog.text


def _provider(fake: FakeExotel, **changes) -> ExotelProvider:
    values = {
        "provider": "exotel",
        "account_sid": fake.account_sid,
        "credentials": {"api_key": fake.api_key, "api_token": fake.api_token},
        "api_url": fake.url,
        **changes,
    }
    return ExotelProvider(Line(**values))


def test_number_dnd_reads_exotel_number_metadata(fake):
    fake.set_dnd(DND_NUMBER)
    provider = _provider(fake)
    assert provider.number_dnd(DND_NUMBER) is True
    assert provider.number_dnd(FREE_NUMBER) is False
    assert provider.number_dnd("+14155550100") is None  # not Indian: not asked
    asked = [r for r in fake.received if "/Numbers/" in r.path]
    assert [r.path for r in asked] == [
        f"/v1/Accounts/{fake.account_sid}/Numbers/09876543210.json",
        f"/v1/Accounts/{fake.account_sid}/Numbers/09876543211.json",
    ]
    assert all(r.method == "GET" and r.auth == (fake.api_key, fake.api_token) for r in asked)
    fake.fail_next(429, retry_after=3)
    with pytest.raises(ProviderError) as raised:
        provider.number_dnd(DND_NUMBER)
    assert raised.value.kind == ProviderError.RATE_LIMITED
    with pytest.raises(ProviderError):
        _provider(fake, credentials={"api_key": "x", "api_token": "y"}).number_dnd(DND_NUMBER)


@pytest.fixture
def promo_on_exotel(fake, campaign, settings):
    settings.LEADLINE_PUBLIC_URL = "http://127.0.0.1:9"  # callbacks are not followed here
    account = TelephonyAccount(
        business=campaign.business,
        provider="exotel",
        account_sid=fake.account_sid,
        caller_ids=list(fake.numbers),
        api_url=fake.url,
    )
    account.credentials_set({"api_key": fake.api_key, "api_token": fake.api_token})
    account.save()
    campaign.telephony_account = account
    campaign.caller_id = fake.numbers[0]
    campaign.category = Campaign.Category.PROMOTIONAL
    campaign.window_days = [0, 1, 2, 3, 4, 5, 6]
    campaign.window_start = campaign.window_start.replace(hour=0, minute=0)
    campaign.window_end = time.max  # the whole day: a test may run at 23:59 local
    campaign.save()
    return campaign


def test_the_loop_asks_exotel_then_the_claim_never_dials_a_dnd_number(fake, promo_on_exotel, api):
    response = api.post(
        f"/api/v4/leads/create/{promo_on_exotel.public_id}/",
        [
            {"lead_id": "dnd", "phone_number": DND_NUMBER, "contact_name": "A"},
            {"lead_id": "free", "phone_number": FREE_NUMBER, "contact_name": "B"},
        ],
    )
    assert response.status_code == 201, response.content
    fake.set_dnd(DND_NUMBER)
    rep = make_rep(promo_on_exotel, "rep-dnd", "+919000000001")

    # Before the loop: nothing is known, both leads wait, nothing reaches Exotel.
    assert services.lead_claim(rep=rep) is None
    assert set(Lead.objects.values_list("wait_reason", flat=True)) == {"DND status not known yet"}
    assert not fake.received
    Lead.objects.update(due_at=timezone.now())  # as if the few minutes had passed

    assert DndLookups().run_once() == 2
    assert dnd_cached(number_hash=number_hash(DND_NUMBER), now=timezone.now()) is True
    assert set(DndStatus.objects.values_list("source", flat=True)) == {"provider"}

    lead = services.lead_claim(rep=rep)
    assert lead is not None and lead.lead_id == "free"
    withdrawn = Lead.objects.get(lead_id="dnd")
    assert (withdrawn.status, withdrawn.lead_outcome) == ("processed", NOT_CALLED_DND)
    services.call_place(rep=rep, lead_pk=lead.pk)
    dialled = [r.form.get("To") for r in fake.received if r.path.endswith("/Calls/connect.json")]
    assert dialled == [FREE_NUMBER]
    assert CallAttempt.objects.count() == 1


def test_an_exotel_outage_leaves_the_status_unknown(fake, promo_on_exotel, make_leads):
    make_leads(1, prefix="out")
    fake.down = True
    assert DndLookups().run_once() == 0
    assert not DndStatus.objects.exists()
