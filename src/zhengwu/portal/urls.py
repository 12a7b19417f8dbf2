from django.urls import include, path

from . import views

app_name = "portal"
urlpatterns = [
    path("", views.home, name="home"),
    # Public accounts: login, registration, real-name verification, 企业 and 经办人, PIPL pages.
    path("account/", include("zhengwu.portal.account_urls")),
]
