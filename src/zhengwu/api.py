"""The platform's JSON API under /api/v1/: every app's router on one NinjaAPI."""

from zhengwu.audit.api import router as audit_router
from zhengwu.catalog.api import router as catalog_router
from zhengwu.core.api import create_api
from zhengwu.core.api_validators import router as validators_router
from zhengwu.datahub.api import router as datahub_router
from zhengwu.directory.api import router as directory_router
from zhengwu.identity.api import router as identity_router
from zhengwu.sharing.api import router as sharing_router
from zhengwu.sharing.exchange.api import router as exchange_router

api = create_api()
api.add_router("/validators", validators_router)
api.add_router("/identity", identity_router)
api.add_router("/directory", directory_router)
api.add_router("/audit", audit_router)
api.add_router("/catalog", catalog_router)
api.add_router("/datahub", datahub_router)
api.add_router("/sharing", sharing_router)
api.add_router("/exchange", exchange_router)
