"""Path converters shared by the console's and the dashboard's URLs (registered on import).

`row_id`: a primary key of at most 18 digits, always inside a 64-bit integer column, so a
silly id is a 404, never a database overflow. `public_id`: a campaign's short public id.
"""

from django.urls import register_converter


class RowIdConverter:
    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


class PublicIdConverter:
    regex = "[0-9A-Za-z]{1,12}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(RowIdConverter, "row_id")
register_converter(PublicIdConverter, "public_id")
