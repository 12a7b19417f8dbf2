from django.urls import path

from . import views

app_name = "core"
urlpatterns = [
    path("", views.home, name="home"),
    path("notifications/", views.notification_list, name="notifications"),
    path("notifications/<int:pk>/read", views.notification_read, name="notification_read"),
    path("notifications/read-all", views.notification_read_all, name="notification_read_all"),
    path("calendar/", views.calendar_view, name="calendar"),
    path("calendar/<str:day>/remove", views.calendar_remove, name="calendar_remove"),
    path("healthz", views.health, name="health"),
]
