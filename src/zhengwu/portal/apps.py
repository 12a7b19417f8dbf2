from django.apps import AppConfig


class PortalConfig(AppConfig):
    """门户: the public site (also the mobile app as a PWA) with 个人中心 / 企业中心."""

    name = "zhengwu.portal"
    label = "portal"
    verbose_name = "门户网站"
