"""check_new_leads answers every item as clean_new_lead does, whether or not the usual item's
shortcut (`_clean_usual_lead`) takes it."""

import random

import pytest

from leadline.leads.validation import (
    REPEATED,
    FieldProblem,
    check_new_leads,
    clean_new_lead,
    problem,
)


def _reference(items):
    """check_new_leads as written before the shortcut: clean_new_lead for every item."""
    checked, seen = [], set()
    for index, item in enumerate(items):
        raw_id = item.get("lead_id") if isinstance(item, dict) else None
        try:
            lead = clean_new_lead(item)
        except FieldProblem as p:
            checked.append((None, problem(index, raw_id, p)))
            continue
        if lead.lead_id in seen:
            checked.append((None, problem(index, lead.lead_id, REPEATED)))
            continue
        seen.add(lead.lead_id)
        checked.append((lead, None))
    return checked


def _base(i):
    return {"lead_id": f"L{i}", "phone_number": "9876543210", "contact_name": "Asha Rao"}


ODD_IDS = [
    "L1",
    "",
    " ",
    "  x ",
    "\u00a0",
    "\u00a0id",
    "a\tb",
    "a\x00b",
    "a\x7fb",
    "a\x1fb",
    "x" * 255,
    "x" * 256,
    " " + "x" * 255,
    "ünïcode",
    "id\u2028x",
    "id\u200bx",
    7,
    0,
    -3,
    True,
    1.5,
    None,
    ["x"],
    {"a": 1},
    "L1",
]
ODD_PHONES = [
    "9876543210",
    "98765 43210",
    "+919876543210",
    "09876543210",
    "919876543210",
    "5876543210",
    "1123456789",
    "98765432100",
    "987654321",
    "९८७६५४३२१०",
    " 9876543210",
    "9876543210 ",
    "+91-11-23456789",
    "1800FLOWERS",
    9876543210,
    True,
    0,
    -9876543210,
    None,
    "",
    "0000000000",
    "6000000000",
    "9" * 33,
    ["9876543210"],
]
ODD_NAMES = [
    "Asha Rao",
    "  Asha  ",
    "",
    "   ",
    "a\x00b",
    "a\tb",
    "x" * 255,
    "x" * 256,
    " " + "x" * 255 + " ",
    42,
    None,
    True,
    "नमस्ते",
    "\u00a0Asha\u00a0",
]
ODD_CUSTOM = [
    {},
    {"city": "Pune"},
    {"city": "Pune", "plan": {"tier": 2}},
    {"": 1},
    {" ": 1},
    {"k" * 255: 1},
    {"k" * 256: 1},
    {"note": "has \x00 nul"},
    {"note": None},
    {"big": "x" * 20_000},
    {"quote": 'say "hi"\\'},
    {"n": 1.5, "b": False, "l": [1, "a"]},
    {"lead_id_x": 1},
    {"\u00a0": 1},
]


def _corpus(seed=3, size=3000):
    rng = random.Random(seed)
    items = [[], "L1", 7, None]
    for i in range(size):
        item = _base(i)
        roll = rng.random()
        if roll < 0.25:
            item["lead_id"] = rng.choice(ODD_IDS)
        elif roll < 0.5:
            item["phone_number"] = rng.choice(ODD_PHONES)
        elif roll < 0.65:
            item["contact_name"] = rng.choice(ODD_NAMES)
        elif roll < 0.7:
            del item[rng.choice(list(item))]
        item.update(rng.choice(ODD_CUSTOM))
        if rng.random() < 0.1:
            # Keys in another order: custom fields keep the item's order.
            item = dict(reversed(list(item.items())))
        items.append(item)
    items += [{}, {"lead_id": "L1"}, _base(1), _base(1)]
    return items


def test_the_shortcut_gives_clean_new_lead_s_answers_on_odd_items(settings):
    settings.LEADLINE_MAX_CUSTOM_BYTES = 10_000
    items = _corpus()
    checked = check_new_leads(items)
    assert checked == _reference(items)
    # The corpus exercises both: leads cleaned and problems of every field.
    assert sum(lead is not None for lead, _ in checked) > 500
    fields = {found["field"] for _, found in checked if found is not None}
    assert {"lead_id", "phone_number", "contact_name", None} <= fields


@pytest.mark.parametrize("limit", [30, 10_000])
def test_the_custom_fields_limit_is_read_per_request(settings, limit):
    settings.LEADLINE_MAX_CUSTOM_BYTES = limit
    items = [{**_base(1), "note": "x" * 40}]
    assert check_new_leads(items) == _reference(items)
    assert (check_new_leads(items)[0][0] is None) == (limit == 30)
