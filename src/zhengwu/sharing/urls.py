from django.urls import path

from . import views

app_name = "sharing"
urlpatterns = [
    path("", views.index, name="index"),
    path("new/", views.new_request, name="new_request"),
    path("requests/<int:pk>/", views.request_detail, name="request_detail"),
    path("requests/<int:pk>/<slug:action>/", views.request_action, name="request_action"),
    path("review/", views.review, name="review"),
    path("grants/", views.grants, name="grants"),
    path("supervision/", views.supervision, name="supervision"),
    path("needs/", views.needs, name="needs"),
    path("needs/<int:pk>/<slug:action>/", views.need_action, name="need_action"),
]
