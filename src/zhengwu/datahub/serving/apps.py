from django.apps import AppConfig


class ServingConfig(AppConfig):
    """服务库 (serving store): indexed relational copies of each resource's current lake version, switched atomically."""

    name = "zhengwu.datahub.serving"
    label = "serving"
    verbose_name = "数据服务库"
