from django.urls import include, path

from . import console_views, pwa, views

app_name = "portal"
urlpatterns = [
    path("", views.home, name="home"),
    path("search/", views.search, name="search"),
    path("notices/", views.notice_list, name="notices"),
    path("notices/<int:pk>/", views.notice_detail, name="notice"),
    path("me/", views.me, name="me"),
    path("enterprise/", views.enterprise, name="enterprise"),
    path("logout/", views.logout, name="logout"),
    path("help/", views.help_page, name="help"),
    path("privacy/", views.privacy, name="privacy"),
    path("terms/", views.terms_page, name="terms"),
    path("contact/", views.contact, name="contact"),
    path("offline/", views.offline, name="offline"),
    # The installable app (PWA): manifest, service worker (scope /portal/), icons drawn on request.
    path("manifest.webmanifest", pwa.manifest, name="manifest"),
    path("sw.js", pwa.service_worker, name="sw"),
    path("icons/icon-<int:size>.png", pwa.icon, name="icon"),
    # Staff console: 通知公告 editing (门户编辑).
    path("console/notices/", console_views.notice_list, name="console_notices"),
    path("console/notices/new/", console_views.notice_create, name="console_notice_create"),
    path("console/notices/<int:pk>/", console_views.notice_edit, name="console_notice_edit"),
    path("console/notices/<int:pk>/<str:action>/", console_views.notice_action, name="console_notice_action"),
    # Public accounts: login, registration, real-name verification, 企业 and 经办人, PIPL pages.
    path("account/", include("zhengwu.portal.account_urls")),
]
