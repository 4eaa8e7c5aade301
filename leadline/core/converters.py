"""Path converters shared by the console's and the dashboard's URLs (registered on import).

`row_id`: a primary key of at most 18 digits, always inside a 64-bit integer column, so a
silly id is a 404, never a database overflow. `public_id`: a campaign's short public id.
"""

import re

from django.urls import register_converter


class RowIdConverter:
    regex = "[0-9]{1,18}"

    @classmethod
    def parse(cls, value: str) -> int | None:
        """`value` as a row id by the same rule as the path, or None (for ids that come in a
        form field rather than the path)."""
        return int(value) if _ROW_ID.fullmatch(value) else None

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


# ASCII digits only ([0-9], not \d): str.isdigit() and \d also take "²", which int() refuses.
_ROW_ID = re.compile(RowIdConverter.regex)


class PublicIdConverter:
    regex = "[0-9A-Za-z]{1,12}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(RowIdConverter, "row_id")
register_converter(PublicIdConverter, "public_id")
