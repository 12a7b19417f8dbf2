"""数据交换: subscriptions deliver each new version's changes to consumers (webhook, change feed, 库表交换)."""

from django.apps import AppConfig

AUDIT_ACTIONS = {
    "exchange.subscription.create": "创建数据交换订阅",
    "exchange.subscription.pause": "暂停数据交换订阅",
    "exchange.subscription.resume": "恢复数据交换订阅",
    "exchange.subscription.resync": "数据交换全量同步",
    "exchange.subscription.disable": "停用数据交换订阅",
    "exchange.subscription.test": "测试数据交换投递",
    "exchange.delivery.deliver": "数据交换投递成功",
    "exchange.delivery.fail": "数据交换投递失败",
    "exchange.delivery.dead": "数据交换投递转入死信",
    "exchange.delivery.redeliver": "重新投递死信",
    "exchange.feed.read": "拉取数据交换变更",
}
AUDIT_OBJECT_TYPES = {
    "exchange_subscription": "数据交换订阅",
    "exchange_delivery": "数据交换投递",
}


def _is_staff(user: object) -> bool:
    from zhengwu.sharing.services import _is_staff as is_staff

    return is_staff(user)


class ExchangeConfig(AppConfig):
    """数据交换: subscriptions deliver each new version's changes to consumers (webhook, change feed, 库表交换)."""

    name = "zhengwu.sharing.exchange"
    label = "exchange"
    verbose_name = "数据交换"

    def ready(self) -> None:
        from zhengwu.core.audit_names import register_actions, register_object_types

        register_actions(self.verbose_name, AUDIT_ACTIONS)
        register_object_types(self.verbose_name, AUDIT_OBJECT_TYPES)

        from zhengwu.core.consoles import ConsoleEntry, register

        register(ConsoleEntry(
            key="exchange.subscriptions", title="数据交换",
            description="订阅获得授权的资源的变更：推送（Webhook）、变更拉取、库表交换；投递记录与死信",
            url_name="exchange:index", allowed=_is_staff, group="数据", family="数据", order=55,
        ))

        from datetime import timedelta

        from zhengwu.core import periodic
        from zhengwu.datahub.listeners import register_version_listener

        from .tasks import exchange_housekeeping, on_version_changed

        register_version_listener("exchange", on_version_changed)
        periodic.register(
            "exchange.deliveries", exchange_housekeeping, timedelta(minutes=1),
            "数据交换：到期重试失败的投递，补投落后于当前版本的订阅，停止授权已失效的订阅",
        )
