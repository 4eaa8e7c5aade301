import random

import phonenumbers
import pytest

from leadline.core.phones import (
    mask_numbers_in_text,
    mask_numbers_in_texts,
    mask_own_number,
    mask_phone,
    normalize_indian_phone,
    normalize_indian_phone_slow,
)


@pytest.mark.parametrize(
    "raw",
    [
        "9876543210",
        "09876543210",
        "919876543210",
        "+919876543210",
        "+91 98765-43210",
        "+91-98765 43210",
        "(+91) 98765.43210",
        "0091 98765 43210",
        " 98765 43210 ",
        9876543210,
        919876543210,
    ],
)
def test_common_spellings_normalise_to_e164(raw):
    assert normalize_indian_phone(raw) == "+919876543210"


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "12345",
        "98765432",
        "98765432101234",
        "+1 202 555 0123",
        "+44 20 7946 0958",
        "5555555555",
        "98765-FLOWERS",
        "9876543210 ext 12",
        None,
        True,
        9.87e9,
        ["9876543210"],
        {"n": "9876543210"},
        "9" * 40,
    ],
)
def test_invalid_or_foreign_numbers_are_rejected(raw):
    assert normalize_indian_phone(raw) is None


def test_landlines_and_unicode_digits_take_the_slow_path():
    assert normalize_indian_phone("+91-11-23456789") == "+911123456789"
    assert normalize_indian_phone("011 2345 6789") == "+911123456789"
    assert normalize_indian_phone("९८७६५४३२१०") == "+919876543210"


def _phonenumbers_answer(text):
    try:
        number = phonenumbers.parse(text, "IN")
    except phonenumbers.NumberParseException:
        return None
    if number.country_code != 91 or not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def test_fast_path_prefix_rule_holds_for_every_prefix():
    """Every 5-digit prefix 60000-99999 decides validity, whatever the last five digits are."""
    rng = random.Random(7)
    for prefix in range(60000, 100000):
        answers = {
            phonenumbers.is_valid_number(
                phonenumbers.PhoneNumber(country_code=91, national_number=prefix * 100000 + tail)
            )
            for tail in (0, 99999, rng.randrange(100000))
        }
        assert len(answers) == 1, prefix


def test_fast_path_gives_phonenumbers_answers_on_random_inputs():
    rng = random.Random(11)
    shapes = ["{n}", "0{n}", "91{n}", "+91{n}", "+91 {a}-{b}", "0091{n}", "{a} {b}", "+91.{a}.{b}"]
    for _ in range(20000):
        national = str(rng.randrange(6_000_000_000, 10_000_000_000))
        text = rng.choice(shapes).format(n=national, a=national[:5], b=national[5:])
        assert normalize_indian_phone(text) == _phonenumbers_answer(text), text
        assert normalize_indian_phone_slow(text) == _phonenumbers_answer(text), text


def test_mask_hides_the_middle_digits():
    masked = mask_phone("+919876543210")
    assert masked == "+91 98XXX XXX10"
    assert "76543" not in masked


@pytest.mark.parametrize(
    "text",
    [
        "98765\u201343210",  # en dash
        "98765\u201443210",  # em dash
        "98765_43210",
        "98,765,43,210",
        "98765:43210",
        "98765 - 43210",
        "98765\u200b43\u200d210",
        "9\u00ad8765\ufeff43210",
        "\u096f\u096e\u096d\u096c\u096b\u096a\u0969\u0968\u0967\u0966",  # Devanagari
        "\uff0b\uff19\uff11 \uff19\uff18\uff17\uff16\uff15\uff14\uff13\uff12\uff11\uff10",
        "98.765.432.10",
        "98765/43210",
    ],
)
def test_numbers_in_text_are_masked_however_spelled(text):
    masked = mask_numbers_in_text(f"call {text} today")
    assert masked == "call +91 98XXX XXX10 today"


def test_any_run_of_seven_digits_is_masked_and_shorter_ones_stay():
    assert mask_numbers_in_text("ext 4455667") == "ext XXXXX67"
    assert mask_numbers_in_text("+44 20 7946 0958") == "+XX XX XXXX XX58"
    assert mask_numbers_in_text("flat 12, block 3456") == "flat 12, block 3456"
    assert mask_numbers_in_text("Policy 123456") == "Policy 123456"


def test_the_lead_s_own_number_is_masked_however_far_apart_its_digits_are():
    own = "+912223456789"
    assert mask_numbers_in_text("0 22 - - 2345 -- 6789", own) == "+91 22XXX XXX89"
    assert mask_numbers_in_text("22 ... 234 ... 56789", own) == "+91 22XXX XXX89"


def test_mask_own_number_touches_that_number_only():
    text = "Meera (098765\u201300001) on 2026-12-06, ref 7788990011"
    masked = mask_own_number(text, "+919876500001")
    assert masked == "Meera (+91 98XXX XXX01) on 2026-12-06, ref 7788990011"
    assert mask_own_number("no number here \u200b", "+919876500001") == "no number here \u200b"


def test_masking_texts_together_gives_each_text_s_own_result():
    # The batch joins the texts: no number may be read across two of them, and each keeps its
    # own spelling unless it had a number (normalisation must not run twice either: a
    # combining accent behind a dropped zero-width space stays uncomposed).
    texts = [
        "12345",
        "67890",
        "lead-0012345",
        "+91",
        "98765 43210",
        "Z\u200b\u0301 7",
        "\u0301",
        "+ ",
        "9876543210+",
        "",
        "\uff19\uff18\uff17\uff16\uff15\uff14\uff13\uff12\uff11\uff10",
        "00",
        "91 98765",
        "43210",
    ]
    assert mask_numbers_in_texts(texts) == [mask_numbers_in_text(text) for text in texts]
    assert mask_numbers_in_texts(texts)[:2] == ["12345", "67890"]
    rng = random.Random(7)
    alphabet = [*"0123456789-_ .+()/aZ", "\u0966", "\uff19", "\u200b", "\u00ad", "\u0301", "+91 "]
    for _ in range(500):
        texts = ["".join(rng.choices(alphabet, k=rng.randrange(12))) for _ in range(8)]
        assert mask_numbers_in_texts(texts) == [mask_numbers_in_text(t) for t in texts], texts
    # Longer texts, digit-heavy: 7 to 9 digits (only the run pattern scanned) and 10 or more
    # (both) beside texts with fewer (not scanned).
    digit_heavy = [*"0123456789" * 3, "-", " ", "_", "+91", "\u0966", "\u200b", "x"]
    for _ in range(500):
        texts = ["".join(rng.choices(digit_heavy, k=rng.randrange(25))) for _ in range(8)]
        assert mask_numbers_in_texts(texts) == [mask_numbers_in_text(t) for t in texts], texts
