from django.urls import path

from . import views

app_name = "exchange"
urlpatterns = [
    path("exchange/", views.index, name="index"),
    path("exchange/new/", views.new_subscription, name="new"),
    path("exchange/subscriptions/<int:pk>/", views.detail, name="detail"),
    path("exchange/subscriptions/<int:pk>/<slug:action>/", views.action, name="action"),
    path("exchange/deliveries/<int:pk>/redeliver/", views.redeliver, name="redeliver"),
    path("exchange/subscribers/", views.subscribers, name="subscribers"),
]
