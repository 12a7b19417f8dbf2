from django.urls import path

from . import views

app_name = "public_accounts"
urlpatterns = [
    path("outbox/", views.outbox_view, name="outbox"),
    path("in-person/", views.in_person_view, name="in_person"),
]
