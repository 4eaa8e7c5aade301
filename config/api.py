"""The one NinjaAPI of the project: the Leads API v4; each app contributes a Router."""

from ninja import NinjaAPI

from leadline.core.api import BusinessBearer, ORJSONRenderer, install_error_handlers
from leadline.leads.api import router as leads_router

api = NinjaAPI(
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
)
install_error_handlers(api)
api.add_router("/leads/", leads_router)
