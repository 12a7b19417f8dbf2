from django.urls import path

from . import views

app_name = "identity"
urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("login/totp/", views.login_totp_view, name="login_totp"),
    path("login/totp/enrol/", views.login_enrol_view, name="login_enrol"),
    path("login/webauthn/", views.login_webauthn_view, name="login_webauthn"),
    path("login/webauthn/options/", views.login_webauthn_options_view, name="login_webauthn_options"),
    path("login/webauthn/enrol/", views.login_webauthn_enrol_view, name="login_webauthn_enrol"),
    path(
        "login/webauthn/enrol/options/", views.login_webauthn_enrol_options_view, name="login_webauthn_enrol_options"
    ),
    path("logout/", views.logout_view, name="logout"),
    path("account/", views.account_view, name="account"),
    path("account/password/", views.password_change_view, name="password_change"),
    path("account/totp/", views.totp_setup_view, name="totp_setup"),
    path("account/totp/disable/", views.totp_disable_view, name="totp_disable"),
    path("account/webauthn/", views.webauthn_register_view, name="webauthn_register"),
    path("account/webauthn/options/", views.webauthn_register_options_view, name="webauthn_register_options"),
    path("account/webauthn/<int:credential_id>/remove/", views.webauthn_remove_view, name="webauthn_remove"),
    path("security/", views.security_home_view, name="security_home"),
    path("security/policy/", views.policy_edit_view, name="policy_edit"),
    path("security/locks/<int:lock_id>/unlock/", views.unlock_view, name="unlock"),
    path("security/totp-reset/", views.totp_reset_view, name="totp_reset"),
    path("security/webauthn-reset/", views.webauthn_reset_view, name="webauthn_reset"),
    path("security/egress/", views.egress_view, name="egress"),
    path("security/egress/<int:destination_id>/remove/", views.egress_remove_view, name="egress_remove"),
]
