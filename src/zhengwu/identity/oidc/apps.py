from django.apps import AppConfig


class OidcConfig(AppConfig):
    """统一身份认证: the platform as an OpenID Connect provider for the units' systems."""

    name = "zhengwu.identity.oidc"
    label = "oidc"
    verbose_name = "统一身份认证"
