from django.urls import path

from . import views

app_name = "datahub"

urlpatterns = [
    path("", views.index, name="index"),
    path("quality/", views.quality, name="quality"),
]
