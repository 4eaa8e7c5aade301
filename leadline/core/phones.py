"""Indian phone numbers: accept the common spellings, store E.164 (`+91XXXXXXXXXX`).

`phonenumbers` is the authority. Parsing with it costs ~20 µs a number, which dominates bulk
ingest, so the common shapes (ten digits, optionally behind `+91`, `91`, `0` or `0091`, with
spaces, hyphens, dots or brackets) take a fast path that still asks phonenumbers, but only once
per five-digit prefix: for ten-digit national numbers starting with 6 to 9 every pattern in
phonenumbers' Indian metadata (mobile and fixed line) is decided by the first five digits and
leaves the rest free (`...\\d{5}`), so the answer for one number holds for its whole prefix.
`tests/test_phones.py` checks that claim against phonenumbers over every such prefix.
"""

import re
from functools import lru_cache

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumber, PhoneNumberFormat

from .text import normalize_text

INDIA_COUNTRY_CODE = 91
_SEPARATORS = str.maketrans("", "", " -.()\t")
# Letters would let phonenumbers read vanity numbers ("1800-FLOWERS") or extensions; a lead's
# number is digits and punctuation only.
_ALLOWED_SLOW = re.compile(r"^[\s\d+\-.()/\u00a0]+$")
_MAX_INPUT = 32
_prefix_valid: dict[str, bool] = {}


def _valid_national(national: str) -> bool:
    return phonenumbers.is_valid_number(
        PhoneNumber(country_code=INDIA_COUNTRY_CODE, national_number=int(national))
    )


def _fast_national(text: str) -> str | None:
    """The ten national digits when `text` has one of the common shapes, else None."""
    digits = text.translate(_SEPARATORS)
    if digits.startswith("+91"):
        digits = digits[3:]
    elif len(digits) == 12 and digits.startswith("91"):
        digits = digits[2:]
    elif len(digits) == 11 and digits.startswith("0"):
        digits = digits[1:]
    elif len(digits) == 14 and digits.startswith("0091"):
        digits = digits[4:]
    if len(digits) == 10 and digits.isascii() and digits.isdigit() and digits[0] in "6789":
        return digits
    return None


def normalize_indian_phone(value: object) -> str | None:
    """`value` as `+91XXXXXXXXXX` if it is a valid Indian number, else None."""
    if (
        type(value) is str
        and len(value) == 10
        and value.isascii()
        and value.isdigit()
        and value[0] in "6789"
    ):
        # The commonest spelling (ten bare digits), which the path below would take to the
        # same prefix lookup after a strip, a translate and four prefix tests.
        valid = _prefix_valid.get(value[:5])
        if valid is None:
            valid = _prefix_valid[value[:5]] = _valid_national(value)
        return "+91" + value if valid else None
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        if value <= 0:
            return None
        value = str(value)
    if not isinstance(value, str) or len(value) > _MAX_INPUT:
        return None
    text = value.strip()
    national = _fast_national(text)
    if national is not None:
        prefix = national[:5]
        valid = _prefix_valid.get(prefix)
        if valid is None:
            valid = _prefix_valid[prefix] = _valid_national(national)
        return "+91" + national if valid else None
    return normalize_indian_phone_slow(text)


def normalize_indian_phone_slow(text: str) -> str | None:
    """phonenumbers' own answer: parse with India as the default region."""
    if not text or not _ALLOWED_SLOW.match(text):
        return None
    try:
        number = phonenumbers.parse(text, "IN")
    except NumberParseException:
        return None
    if (
        number.country_code != INDIA_COUNTRY_CODE
        or number.extension
        or not phonenumbers.is_valid_number(number)
    ):
        return None
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def mask_phone(e164: str | None) -> str:
    """A rep-safe form such as `+91 98XXX XXX10`: enough to recognise, never to dial."""
    if not e164 or len(e164) < 7:
        return "hidden"
    national = e164[3:] if e164.startswith("+91") else e164
    return f"+91 {national[:2]}XXX XXX{national[-2:]}"


# Free text a rep sees is masked after `normalize_text`, so every digit is ASCII and nothing
# invisible is left. Between two digits of one number people put up to a few characters that
# are neither letters nor digits: "98765 - 43210", "98,765,43,210", "98765_43210", "(022) 2345".
_SEP = r"[\W_]{0,3}"
_MOBILE_LIKE = re.compile(rf"(?:(?:(?:\+|00)\s*)?91{_SEP}|0{_SEP})?[6-9](?:{_SEP}[0-9]){{9}}")
# Any other number of seven digits or more: a landline, a number from abroad, a number
# written with a digit to spare.
_DIGIT_RUN = re.compile(rf"\+?[0-9](?:{_SEP}[0-9]){{6,}}")


@lru_cache(maxsize=256)
def _own_number_pattern(e164: str) -> re.Pattern[str]:
    """The lead's own number (landlines too), however far apart its digits are written."""
    digits = r"[\W_]*".join(e164.removeprefix("+91"))
    return re.compile(rf"(?:(?:(?:\+|00)\s*)?91[\W_]*|0[\W_]*)?{digits}")


def mask_own_number(text: str, e164: str) -> str:
    """`text` with this one number masked wherever and however it is written, and nothing
    else touched (dates and ids stay readable): for the operator's views of stored data."""
    plain = normalize_text(text)
    masked = _own_number_pattern(e164).sub(mask_phone(e164), plain)
    return text if masked == plain else masked


def _run_masked(run: str) -> str:
    # Keeps the shape (a date still reads as one) and the last two digits, like mask_phone.
    if run.isdigit():  # the usual run (an id's digits): the loop below, without the loop
        return "X" * (len(run) - 2) + run[-2:]
    remaining = sum(char.isdigit() for char in run)
    out = []
    for char in run:
        if char.isdigit():
            remaining -= 1
            char = char if remaining < 2 else "X"
        out.append(char)
    return "".join(out)


def mask_numbers_in_text(text: str, own: str | None = None) -> str:
    """`text` with every number of seven digits or more masked, however it is spelled.

    Clients put numbers anywhere (a name, an "alt_phone", a note quoting another lead), so
    every number is masked, not only the lead's own (`own`, E.164): over-masking a reference
    number is a far smaller harm than showing a rep a number to dial. Masked text is returned
    normalised; text without a number keeps its own spelling (joiners shape Indic names).
    """
    plain = normalize_text(text)
    masked = _masked(plain, own)
    return text if masked == plain else masked


def _masked(plain: str, own: str | None = None) -> str:
    """`mask_numbers_in_text`'s masking of already normalised text."""
    masked = plain
    if own:
        masked = _own_number_pattern(own).sub(mask_phone(own), masked)
    masked = _MOBILE_LIKE.sub(lambda m: mask_phone("+91" + re.sub(r"\D", "", m[0])[-10:]), masked)
    return _DIGIT_RUN.sub(lambda m: _run_masked(m[0]), masked)


# Between texts masked together: four characters no number pattern above crosses (`_SEP` spans
# at most three non-word characters, and NUL is neither a word character nor white space).
_BATCH_SEPARATOR = "\x00" * 4


def mask_numbers_in_texts(texts: list[str]) -> list[str]:
    """`[mask_numbers_in_text(text) for text in texts]`, in at most two regex passes over all
    of them instead of two per text (an audit entry cleans up to 1,000 lead ids: per text,
    that was a third of a 1,000-lead create's CPU). No match can span the separator, so each
    text's matches are exactly those it has alone.

    Only the texts that can hold a match are scanned: a number (`_DIGIT_RUN`) has 7 digits or
    more and a mobile (`_MOBILE_LIKE`) 10 or more, so a text with fewer has no match of that
    pattern (normalised text writes every digit in ASCII). The mobile pass was most of the
    cost, and client ids of 7 to 9 digits ("LD-0001234") never need it."""
    if len(texts) < 2 or any("\x00" in text for text in texts):
        return [mask_numbers_in_text(text) for text in texts]
    plain = normalize_text(_BATCH_SEPARATOR.join(texts)).split(_BATCH_SEPARATOR)
    if len(plain) != len(texts):
        return [mask_numbers_in_text(text) for text in texts]
    runs: list[int] = []  # 7 to 9 digits: only _DIGIT_RUN can match
    mobiles: list[int] = []  # 10 or more: both patterns, as `_masked` applies them
    for index, normal in enumerate(plain):
        digits = len(normal) - len(normal.translate(_NO_DIGITS))
        if digits >= 10:
            mobiles.append(index)
        elif digits >= 7:
            runs.append(index)
    out = list(texts)
    for group, mask in ((mobiles, _masked), (runs, _runs_masked)):
        if not group:
            continue
        masked = mask(_BATCH_SEPARATOR.join([plain[i] for i in group])).split(_BATCH_SEPARATOR)
        if len(masked) != len(group):
            return [mask_numbers_in_text(text) for text in texts]
        for index, done in zip(group, masked, strict=True):
            if done != plain[index]:
                out[index] = done
    return out


_NO_DIGITS = str.maketrans("", "", "0123456789")


def _runs_masked(plain: str) -> str:
    """`_masked` of normalised text that holds no mobile-like number."""
    return _DIGIT_RUN.sub(lambda m: _run_masked(m[0]), plain)
