from django.urls import path

from . import views

app_name = "catalog"
urlpatterns = [
    path("", views.index, name="index"),
    path("mine/", views.mine, name="mine"),
    path("review/", views.review, name="review"),
    path("stats/", views.stats, name="stats"),
    path("synonyms/", views.synonyms, name="synonyms"),
    path("synonyms/<int:pk>/remove/", views.synonym_remove, name="synonym_remove"),
    path("import/", views.import_entries, name="import"),
    path("template.xlsx", views.template_xlsx, name="template_xlsx"),
    path("export.xlsx", views.export_xlsx, name="export_xlsx"),
    path("export.json", views.export_json, name="export_json"),
    path("entries/new/", views.entry_create, name="entry_create"),
    path("entries/<int:pk>/", views.entry_detail, name="entry_detail"),
    path("entries/<int:pk>/edit/", views.entry_edit, name="entry_edit"),
    path("entries/<int:pk>/versions/<int:number>/", views.version_detail, name="version_detail"),
    path("entries/<int:pk>/<slug:action>/", views.entry_action, name="entry_action"),
    path("corrections/<int:pk>/answer/", views.correction_answer, name="correction_answer"),
]
