from django.urls import path, register_converter

from . import api, metrics, views


class ResourceCode:
    """信息资源代码 such as 101001/00001 (the same form as datahub's resource URLs)."""

    regex = r"[0-9A-Za-z._-]+(?:/[0-9A-Za-z._-]+)*"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(ResourceCode, "gateway_code")

app_name = "gateway"
V1 = "gateway/v1/"
urlpatterns = [
    path(f"{V1}health", api.health, name="health"),
    path(f"{V1}openapi.json", api.openapi_document, name="openapi"),
    path(f"{V1}services", api.services_list, name="services"),
    path(f"{V1}services/<gateway_code:code>/openapi.json", api.service_openapi, name="service_openapi"),
    path(f"{V1}resources/<gateway_code:code>/records/<str:key>", api.record_by_key, name="record"),
    path(f"{V1}resources/<gateway_code:code>/record", api.record_by_keys, name="record_by_keys"),
    path(f"{V1}resources/<gateway_code:code>/records", api.records, name="records"),
    path(f"{V1}resources/<gateway_code:code>/extract", api.extract, name="extract"),
    path(f"{V1}resources/<gateway_code:code>/changes", api.changes_feed, name="changes"),
    path("metrics", metrics.metrics_view, name="metrics"),
    # console pages
    path("gateway/", views.index, name="index"),
    path("gateway/keys/", views.keys, name="keys"),
    path("gateway/keys/<int:pk>/<slug:action>/", views.key_action, name="key_action"),
    path("gateway/clients/<int:pk>/sources/", views.client_sources, name="client_sources"),
    path("gateway/grants/", views.grant_limits, name="grant_limits"),
    path("gateway/calls/", views.calls, name="calls"),
    path("gateway/stats/", views.stats, name="stats"),
    path("gateway/data-use/", views.data_use, name="data_use"),
]
