from django.urls import path

from . import account_views

urlpatterns = [
    path("login/", account_views.login_view, name="login"),
]
