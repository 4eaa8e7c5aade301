"""Path converters of the dashboard's URLs, registered when this module is imported."""

from django.urls import register_converter


class PkConverter:
    # At most 18 digits: always inside a 64-bit integer column, so a silly id is a 404,
    # never a database overflow.
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


register_converter(PkConverter, "dash_pk")
register_converter(PublicIdConverter, "dash_campaign")
