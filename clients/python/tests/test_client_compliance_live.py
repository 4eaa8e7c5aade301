"""The compliance endpoints through the client against a live server, sync and async: the
do-not-call list (create, check, list across pages, delete), the erasure receipt of a delete,
and the create dry run (leads.check)."""

import pytest
from client_support import leads, new_tenant, run

import leadline_client as lc
from leadline_client import AsyncLeadline, Leadline

pytestmark = pytest.mark.live

DNC = "Not Called : Do Not Call"


@pytest.fixture
def tenant(live_db):
    return new_tenant(live_db)


def test_suppressions_sync(live_server_proc, tenant):
    cid = tenant["campaign_id"]
    with Leadline(tenant["access_token"], live_server_proc.url) as client:
        client.leads.create(cid, leads("s", 3))  # numbers 9800000000..2, queued
        created = client.suppressions.create(
            ["9800000000", {"phone_number": "+91 98000 00001", "reason": "Own reason"}],
            reason="Asked not to be called",
        )
        scoped = client.suppressions.create("9800000002", campaign_id=cid)
        again = client.suppressions.create("9800000000")  # already listed: not counted
        checks = client.suppressions.check(["9800000000", "+919800000001", "9899999999"])
        one_by_one = [e for e in client.suppressions.list(page_size=1)]
        pages = list(client.suppressions.list(page_size=2).pages())
        campaign_only = list(client.suppressions.list(campaign_id=cid))
        withdrawn = {r.lead_id: r.lead_outcome for r in client.leads.responses(cid)}
        deleted = client.suppressions.delete(["9800000000", "9899999999"])
        scoped_deleted = client.suppressions.delete("9800000002", campaign_id=cid)
        still = client.suppressions.is_suppressed("9800000001")
        gone = client.suppressions.is_suppressed("9800000000")
        with pytest.raises(lc.BadRequestError) as info:
            client.suppressions.create(
                ["9800000005", "12345", {"phone_number": "9800000006", "campaign_id": "NOPE00"}]
            )
        with pytest.raises(lc.BadRequestError) as bad_check:
            client.suppressions.check(["9800000005", "not a number"])
        with pytest.raises(lc.NotFoundError):
            list(client.suppressions.list(campaign_id="NOPE00"))
        after_refusal = client.suppressions.is_suppressed("9800000005")

    assert (created.created, created.withdrawn) == (2, 2)
    assert (scoped.created, scoped.withdrawn) == (1, 1)
    assert (again.created, again.withdrawn) == (0, 0)
    # The queued leads with those numbers were processed without a call.
    assert withdrawn == {"s-0": DNC, "s-1": DNC, "s-2": DNC}

    assert [c.phone_number for c in checks] == ["9800000000", "+919800000001", "9899999999"]
    assert [c.suppressed for c in checks] == [True, True, False]
    assert checks[0].where == ["business"]
    assert checks[0].reasons == {"business": "Asked not to be called"}
    assert checks[1].reasons == {"business": "Own reason"}
    assert checks[2].where == [] and checks[2].reasons == {}

    # Three entries, oldest first; a page of one each, followed lazily across pages.
    assert len(one_by_one) == 3 and all(isinstance(e, lc.Suppression) for e in one_by_one)
    assert [e.scope for e in one_by_one] == ["business", "business", "campaign"]
    assert [e.campaign_id for e in one_by_one] == [None, None, cid]
    assert {e.source for e in one_by_one} == {"api"}
    assert one_by_one[0].created_at.tzinfo is not None
    assert [len(p.results) for p in pages] == [2, 1] and pages[0].count == 3
    assert pages[-1].next is None and pages[0].next is not None
    assert [e.id for e in campaign_only] == [one_by_one[2].id]

    assert deleted.deleted == 1 and scoped_deleted.deleted == 1  # unknown numbers ignored
    assert still and not gone

    # 400: every problem by position, nothing changed; a number is never echoed in an error.
    problems = info.value.errors
    assert [(p.index, p.field, p.code) for p in problems] == [
        (1, "phone_number", "invalid"),
        (2, "campaign_id", "not_found"),
    ]
    assert all(p.lead_id is None for p in problems)
    assert not after_refusal
    assert [(p.index, p.field) for p in bad_check.value.errors] == [(1, "phone_numbers")]
    assert "not a number" not in str(bad_check.value.body)


def test_suppressions_async(live_server_proc, tenant):
    cid = tenant["campaign_id"]

    async def walk():
        async with AsyncLeadline(tenant["access_token"], live_server_proc.url) as client:
            await client.leads.create(cid, leads("a", 2))
            created = await client.suppressions.create(["9800000000", "9800000001"], reason="x")
            checks = await client.suppressions.check("9800000001")
            entries = [e async for e in client.suppressions.list(page_size=1)]
            pages = [p async for p in client.suppressions.list(campaign_id=cid).pages()]
            deleted = await client.suppressions.delete("9800000001")
            listed = await client.suppressions.is_suppressed("9800000001")
            outcomes = [r.lead_outcome async for r in client.leads.responses(cid)]
            with pytest.raises(lc.BadRequestError):
                await client.suppressions.delete([])
            return created, checks, entries, pages, deleted, listed, outcomes

    created, checks, entries, pages, deleted, listed, outcomes = run(walk())
    assert (created.created, created.withdrawn) == (2, 2)
    assert [(c.suppressed, c.where, c.reasons) for c in checks] == [
        (True, ["business"], {"business": "x"})
    ]
    assert [e.reason for e in entries] == ["x", "x"] and entries[0].id < entries[1].id
    assert [p.count for p in pages] == [0]  # no campaign-scoped entries
    assert deleted.deleted == 1 and not listed
    assert outcomes == [DNC, DNC]


def _check_and_erase(client_checks, receipt, receipt_again, listed):
    """What both the sync and the async walk must have seen."""
    valid, duplicate, bad, suppressed = client_checks
    assert (valid.index, valid.lead_id, valid.valid, valid.errors) == (0, "new-1", True, [])
    assert valid.exists is False and valid.suppressed is False and valid.suppressed_in == []
    assert valid.dial in ("now", "later") and valid.code is not None
    assert duplicate.index == 1 and duplicate.exists is True and not duplicate.valid
    assert [(p.index, p.field, p.code) for p in duplicate.errors] == [(1, "lead_id", "duplicate")]
    # An invalid number: create's problem, and nothing said about the number.
    assert bad.index == 2 and not bad.valid and bad.errors[0].field == "phone_number"
    assert bad.dial is None and bad.suppressed is None
    assert suppressed.index == 3 and suppressed.valid
    assert (suppressed.suppressed, suppressed.suppressed_in) == (True, ["business"])
    assert (suppressed.dial, suppressed.outcome, suppressed.dial_at) == ("never", DNC, None)

    assert isinstance(receipt, lc.ErasureReceipt)
    assert receipt.lead_id == "e-0" and receipt.status in ("pending", "complete")
    assert receipt.suppressed is True and receipt.requested_at.tzinfo is not None
    assert receipt.complete == (receipt.completed_at is not None)
    assert "phone_number" in receipt.lead_fields
    assert all(isinstance(v, int) for v in receipt.erased.values()) and receipt.erased
    assert receipt_again == receipt
    assert listed  # delete(suppress=True) put the number on the do-not-call list


def test_leads_check_and_erasure_receipt_sync(live_server_proc, tenant):
    cid = tenant["campaign_id"]
    with Leadline(tenant["access_token"], live_server_proc.url) as client:
        client.leads.create(cid, leads("e", 2))
        client.suppressions.create("9811111111")
        body = [
            {"lead_id": "new-1", "phone_number": "9822222222", "contact_name": "New"},
            {"lead_id": "e-1", "phone_number": "9822222223", "contact_name": "Dup"},
            {"lead_id": "new-2", "phone_number": "123", "contact_name": "Bad"},
            {"lead_id": "new-3", "phone_number": "9811111111", "contact_name": "Listed"},
        ]
        # chunk_size=3: two requests; positions are still those in the whole list.
        checks = client.leads.check(cid, body, chunk_size=3)
        nothing_created = [r.lead_id for r in client.leads.responses(cid)]
        erased = client.leads.delete(cid, "e-0", suppress=True)
        receipt = client.leads.erasure(erased.receipt_id)
        again = client.leads.erasure(erased.receipt_id)
        listed = client.suppressions.is_suppressed("9800000000")
        with pytest.raises(lc.NotFoundError):
            client.leads.erasure("00000000-0000-0000-0000-000000000000")
        with pytest.raises(lc.NotFoundError):
            client.leads.check("NOPE00", body)
    assert nothing_created == ["e-0", "e-1"]
    assert [c.index for c in checks] == [0, 1, 2, 3]
    _check_and_erase(checks, receipt, again, listed)


def test_leads_check_and_erasure_receipt_async(live_server_proc, tenant):
    cid = tenant["campaign_id"]

    async def walk():
        async with AsyncLeadline(tenant["access_token"], live_server_proc.url) as client:
            await client.leads.create(cid, leads("e", 2))
            await client.suppressions.create({"phone_number": "9811111111"})
            checks = await client.leads.check(
                cid,
                [
                    {"lead_id": "new-1", "phone_number": "9822222222", "contact_name": "New"},
                    {"lead_id": "e-1", "phone_number": "9822222223", "contact_name": "Dup"},
                    {"lead_id": "new-2", "phone_number": "123", "contact_name": "Bad"},
                    {"lead_id": "new-3", "phone_number": "9811111111", "contact_name": "L"},
                ],
            )
            erased = await client.leads.delete(cid, "e-0", suppress=True)
            receipt = await client.leads.erasure(erased.receipt_id)
            again = await client.leads.erasure(erased.receipt_id)
            listed = await client.suppressions.is_suppressed("9800000000")
            return checks, receipt, again, listed

    checks, receipt, again, listed = run(walk())
    _check_and_erase(checks, receipt, again, listed)
