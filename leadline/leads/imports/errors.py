"""What an import tells the user when it cannot go on."""

from leadline.core.errors import BadRequest, PayloadTooLarge


class ImportRejected(BadRequest):
    """A file-level problem; the message is shown to the user and never quotes a cell."""


class ImportTooLarge(PayloadTooLarge):
    pass
