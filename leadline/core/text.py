"""Text as a person reads it, for checks that must not be fooled by how it is spelled.

A digit can be written in many scripts (Devanagari U+096F, full-width U+FF19 and mathematical
U+1D7D7 are all a nine) and split by characters nobody sees (zero-width space and joiners, BOM,
soft hyphen, word joiner): a check on ASCII digits misses all of them while a reader sees the
number plainly. Checks run on `normalize_text(value)`, never on the raw value.
"""

import unicodedata

# Letters that render as blank space (Hangul fillers): not format characters (Cf), but as
# invisible, so they are dropped too rather than left to split a number into short runs.
_INVISIBLE_LETTERS = frozenset("\u115f\u1160\u3164\uffa0")


def normalize_text(text: str) -> str:
    """NFKC, then every Unicode decimal digit as its ASCII digit and every invisible
    formatting character (category Cf, Hangul fillers) dropped."""
    text = unicodedata.normalize("NFKC", text)
    if text.isascii():
        return text  # NFKC leaves no Cf and no non-ASCII digit in ASCII text
    out = []
    for char in text:
        if char.isascii():
            out.append(char)
        elif unicodedata.category(char) == "Cf" or char in _INVISIBLE_LETTERS:
            continue
        else:
            digit = unicodedata.decimal(char, None)
            out.append(char if digit is None else str(digit))
    return "".join(out)
