from django.apps import AppConfig


class ExchangeConfig(AppConfig):
    """数据交换: subscriptions deliver each new version's changes to consumers (webhook, change feed, 库表交换)."""

    name = "zhengwu.sharing.exchange"
    label = "exchange"
    verbose_name = "数据交换"
