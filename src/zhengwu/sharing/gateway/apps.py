from django.apps import AppConfig


class GatewayConfig(AppConfig):
    """数据服务网关: units' systems read granted resources with client credentials; every call enforced and accounted for."""

    name = "zhengwu.sharing.gateway"
    label = "gateway"
    verbose_name = "数据服务网关"
