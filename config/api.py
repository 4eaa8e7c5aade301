"""The one NinjaAPI of the project: the Leads API v4; each app contributes a Router."""

from leadline.core.api import (
    BusinessBearer,
    DocumentedNinjaAPI,
    ORJSONRenderer,
    install_error_handlers,
)
from leadline.leads import consents_api, suppressions_api
from leadline.leads.api import router as leads_router
from leadline.leads.api_docs import WEBHOOKS
from leadline.leads.schemas import REQUEST_MODELS

api = DocumentedNinjaAPI(
    title="Leadline Leads API",
    version="4",
    description=(
        "Push leads into calling campaigns and read back their outcomes. "
        "Authenticate with `Authorization: Bearer <token>`."
    ),
    urls_namespace="api-v4",
    renderer=ORJSONRenderer(),
    auth=BusinessBearer(),
    docs_url="/docs",
    openapi_url="/openapi.json",
    openapi_models=(
        *REQUEST_MODELS,
        *consents_api.REQUEST_MODELS,
        *suppressions_api.REQUEST_MODELS,
    ),
    openapi_extra={"webhooks": WEBHOOKS},
)
install_error_handlers(api)
api.add_router("/leads/", leads_router)
api.add_router("/consents/", consents_api.router)
api.add_router("/suppressions/", suppressions_api.router)
