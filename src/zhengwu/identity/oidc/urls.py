from django.urls import path

from . import views

app_name = "oidc"
urlpatterns = [
    path("clients/", views.clients_view, name="clients"),
    path("clients/new/", views.client_register_view, name="client_register"),
    path("clients/<int:registration_id>/", views.client_detail_view, name="client_detail"),
    path("clients/<int:registration_id>/secret/", views.client_rotate_secret_view, name="client_rotate_secret"),
    path("clients/<int:registration_id>/enabled/<int:enabled>/", views.client_enable_view, name="client_enable"),
    path("clients/<int:registration_id>/logo/", views.logo_view, name="client_logo"),
    path("review/", views.review_view, name="review"),
    path("review/<int:registration_id>/<str:decision>/", views.review_decide_view, name="review_decide"),
]
