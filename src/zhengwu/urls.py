from django.urls import include, path

from .api import api

urlpatterns = [
    # 数据服务网关 first: its API answers machines at a high rate, and Django tries the patterns in
    # order (its paths, /gateway/… and /metrics, are its own, so the order decides nothing else).
    path("", include("zhengwu.sharing.gateway.urls")),
    path("api/v1/", api.urls),
    path("", include("zhengwu.core.urls")),
    path("", include("zhengwu.identity.urls")),
    path("directory/", include("zhengwu.directory.urls")),
    path("audit/", include("zhengwu.audit.urls")),
    path("catalog/", include("zhengwu.catalog.urls")),
    path("datahub/", include("zhengwu.datahub.urls")),
    path("sharing/", include("zhengwu.sharing.urls")),
    path("portal/", include("zhengwu.portal.urls")),
    # OpenID provider (identity/oidc): discovery at the root, endpoints under /oidc/, consoles under /sso/.
    path("", include("zhengwu.identity.oidc.provider_urls")),
    path("sso/", include("zhengwu.identity.oidc.urls")),
    path("public-accounts/", include("zhengwu.identity.public.urls")),
    # 数据交换, 公共数据开放: each owns its paths.
    path("", include("zhengwu.sharing.exchange.urls")),
    path("", include("zhengwu.opendata.urls")),
]

handler400 = "zhengwu.core.errorpages.bad_request"
handler403 = "zhengwu.core.errorpages.permission_denied"
handler404 = "zhengwu.core.errorpages.page_not_found"
handler500 = "zhengwu.core.errorpages.server_error"
