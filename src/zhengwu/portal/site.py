"""The portal's names, from settings: the city (ZHENGWU_CITY_NAME), the site and the app."""

from django.conf import settings

THEME_COLOR = "#b3261e"  # the platform's brand red (console.css --brand); also the manifest's theme colour
BACKGROUND_COLOR = "#ffffff"
QUERY_MAX_LENGTH = 100


def city_name() -> str:
    return str(getattr(settings, "PORTAL_CITY_NAME", "") or "示范市")


def site_name() -> str:
    return f"{city_name()}政务服务门户"


def app_name() -> str:
    """The installed app's name: 我的<城市> (“我的连云港” in the seeds; ZHENGWU_CITY_NAME as written)."""
    return f"我的{city_name()}"


def operator_name() -> str:
    return str(getattr(settings, "PORTAL_OPERATOR", "") or f"{city_name()}政务服务数据管理局")
