from django.urls import path

from . import views

app_name = "directory"
urlpatterns = [
    path("", views.browse, name="browse"),
    path("divisions/search.json", views.division_search, name="division_search"),
    path("units/", views.unit_tree, name="unit_tree"),
    path("units/new/", views.unit_create, name="unit_create"),
    path("units/<int:pk>/edit/", views.unit_edit, name="unit_edit"),
    path("units/<int:pk>/move/", views.unit_move, name="unit_move"),
    path("units/<int:pk>/deactivate/", views.unit_deactivate, name="unit_deactivate"),
    path("users/", views.user_list, name="user_list"),
    path("users/new/", views.user_create, name="user_create"),
    path("users/<int:pk>/", views.user_detail, name="user_detail"),
    path("users/<int:pk>/edit/", views.user_edit, name="user_edit"),
    path("users/<int:pk>/active/", views.user_toggle_active, name="user_toggle_active"),
    path("users/<int:pk>/password/", views.user_reset_password, name="user_reset_password"),
    path("users/<int:pk>/roles/", views.user_grant_role, name="user_grant_role"),
    path("users/<int:pk>/roles/<int:grant_id>/revoke/", views.user_revoke_role, name="user_revoke_role"),
]
