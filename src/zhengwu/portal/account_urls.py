from django.urls import path

from . import account_views as v

# Included under /portal/account/ in the portal's namespace ("portal:login" is the public login).
urlpatterns = [
    path("login/", v.login_view, name="login"),
    path("login/totp/", v.login_totp_view, name="login_totp"),
    path("register/", v.register_view, name="register"),
    path("", v.account_view, name="account"),
    path("export/", v.export_view, name="account_export"),
    path("close/", v.close_view, name="account_close"),
    path("security/", v.security_view, name="account_security"),
    path("realname/", v.realname_view, name="realname"),
    path("enterprise/bind/", v.enterprise_bind_view, name="enterprise_bind"),
    path("enterprise/switch/", v.enterprise_switch_view, name="enterprise_switch"),
    path("enterprise/<int:enterprise_id>/agents/", v.agents_view, name="enterprise_agents"),
    path("enterprise/agents/<int:authorisation_id>/revoke/", v.agent_revoke_view, name="agent_revoke"),
]
