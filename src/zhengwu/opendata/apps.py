from django.apps import AppConfig


class OpendataConfig(AppConfig):
    """公共数据开放: open data on the portal, a CKAN-compatible Action API and DCAT-AP."""

    name = "zhengwu.opendata"
    label = "opendata"
    verbose_name = "公共数据开放"
