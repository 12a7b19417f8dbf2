"""The OpenID provider's endpoints. The namespace is django-oauth-toolkit's ("oauth2_provider"),
whose views reverse these names; the issuer is the site root (discovery at the root's .well-known)."""

from django.urls import path
from oauth2_provider import views as dot

from . import views

app_name = "oauth2_provider"
urlpatterns = [
    path(".well-known/openid-configuration", views.DiscoveryView.as_view(), name="oidc-connect-discovery-info"),
    path("oidc/authorize/", views.AuthorizeView.as_view(), name="authorize"),
    path("oidc/token/", dot.TokenView.as_view(), name="token"),
    path("oidc/revoke/", dot.RevokeTokenView.as_view(), name="revoke-token"),
    path("oidc/introspect/", views.IntrospectView.as_view(), name="introspect"),
    path("oidc/userinfo/", dot.UserInfoView.as_view(), name="user-info"),
    path("oidc/jwks/", views.JwksView.as_view(), name="jwks-info"),
    path("oidc/logout/", views.LogoutView.as_view(), name="rp-initiated-logout"),
]
