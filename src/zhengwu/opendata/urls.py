"""Open data URLs (included at the site root, so each pattern carries its full prefix):
the CKAN Action API under /api/3/action/ (and /api/action/, ckanapi's default), DCAT at
/catalog.<fmt> and /dataset/<name>.<fmt> (as ckanext-dcat), the portal pages under /portal/opendata/."""

from django.urls import path, re_path

from . import api, views

app_name = "opendata"
urlpatterns = [
    path("api/3/action/<str:name>", api.action, name="ckan_action"),
    path("api/action/<str:name>", api.action, name="ckan_action_short"),
    re_path(r"^catalog\.(?P<fmt>ttl|jsonld|rdf)$", views.catalog_dcat, name="catalog_dcat"),
    re_path(r"^dataset/(?P<name>[a-z0-9_-]+)\.(?P<fmt>ttl|jsonld|rdf)$", views.dataset_dcat, name="dataset_dcat"),
    path("portal/opendata/", views.home, name="home"),
    path("portal/opendata/search/", views.search, name="search"),
    path("portal/opendata/api/", views.api_help, name="api_help"),
    path("portal/opendata/reuses/", views.reuses, name="reuses"),
    path("portal/opendata/reuses/new/", views.reuse_new, name="reuse_new"),
    path("opendata/review/", views.review, name="review"),
    path("opendata/reuses/", views.moderation, name="moderation"),
    path("portal/opendata/applications/<int:pk>/key/", views.issue_key, name="issue_key"),
    path("portal/opendata/dataset/<slug:name>/", views.dataset_page, name="dataset"),
    path("portal/opendata/dataset/<slug:name>/download.<str:fmt>", views.download, name="download"),
    path("portal/opendata/dataset/<slug:name>/apply/", views.apply, name="apply"),
    path("portal/opendata/dataset/<slug:name>/discuss/", views.discuss, name="discuss"),
    path("portal/opendata/dataset/<slug:name>/discuss/<int:pk>/answer/", views.answer, name="answer"),
]
