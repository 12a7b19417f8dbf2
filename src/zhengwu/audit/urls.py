from django.urls import path

from . import views

app_name = "audit"
urlpatterns = [
    path("", views.record_list, name="records"),
    path("records/<int:seq>/", views.record_detail, name="record_detail"),
    path("export.csv", views.export_csv, name="export"),
    path("verify/", views.verify, name="verify"),
]
