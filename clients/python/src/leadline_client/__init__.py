"""Python client of the Leadline Leads API v4.

from leadline_client import Leadline
client = Leadline()  # LEADLINE_API_KEY, LEADLINE_BASE_URL
client.leads.create("0PT711", [{"lead_id": "a1", "phone_number": "9876543210",
                                "contact_name": "Asha"}])
for lead in client.leads.responses("0PT711", processed_after=0):
    print(lead.lead_id, lead.lead_outcome)
"""

from . import webhooks
from ._base import VERSION as __version__
from ._base import MissingApiKey
from ._client import (
    AsyncConsents,
    AsyncLeadline,
    AsyncLeads,
    AsyncResultsIterator,
    Consents,
    Leadline,
    Leads,
    ResultsIterator,
)
from ._errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ChunkedCreateError,
    ConflictError,
    InternalServerError,
    LeadlineError,
    MethodNotAllowedError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RateLimitError,
    UnprocessableEntityError,
    UnsupportedMediaTypeError,
    WebhookVerificationError,
)
from ._models import (
    ChunkResult,
    ConsentsRecorded,
    ConsentsWithdrawn,
    CreateResult,
    LeadConverted,
    LeadErased,
    LeadResult,
    LeadsCreated,
    LeadsDisabled,
    Problem,
    ResultsPage,
)

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncConsents",
    "AsyncLeadline",
    "AsyncLeads",
    "AsyncResultsIterator",
    "AuthenticationError",
    "BadRequestError",
    "ChunkResult",
    "ChunkedCreateError",
    "ConflictError",
    "Consents",
    "ConsentsRecorded",
    "ConsentsWithdrawn",
    "CreateResult",
    "InternalServerError",
    "LeadConverted",
    "LeadErased",
    "LeadResult",
    "Leadline",
    "LeadlineError",
    "Leads",
    "LeadsCreated",
    "LeadsDisabled",
    "MethodNotAllowedError",
    "MissingApiKey",
    "NotFoundError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "Problem",
    "RateLimitError",
    "ResultsIterator",
    "ResultsPage",
    "UnprocessableEntityError",
    "UnsupportedMediaTypeError",
    "WebhookVerificationError",
    "__version__",
    "webhooks",
]
