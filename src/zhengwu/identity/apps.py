from django.apps import AppConfig


class IdentityConfig(AppConfig):
    name = "zhengwu.identity"
    label = "identity"
    verbose_name = "身份认证"
