"""数据服务网关: units' systems read granted resources with client credentials; every call enforced and accounted for."""
from django.apps import AppConfig

# Every action and object type this app records, with its Chinese name (core.audit_names).
AUDIT_ACTIONS = {
    "gateway.key.create": "创建网关密钥",
    "gateway.key.revoke": "吊销网关密钥",
    "gateway.sources.set": "设置网关来源地址限制",
    "gateway.limits.set": "设置授权调用限制",
    "gateway.calls.seal": "封存网关调用记录",
    "gateway.data_use.query": "查询数据使用记录",
}
AUDIT_OBJECT_TYPES = {
    "gateway_key": "网关密钥",
    "gateway_client": "网关服务客户端",
    "gateway_seal": "网关调用记录封存",
    "data_use": "数据使用记录",
}


def _is_staff(user: object) -> bool:
    from zhengwu.sharing.services import _is_staff as is_staff

    return is_staff(user)


def _manages(user: object) -> bool:
    from .services import manages_unit_systems

    return manages_unit_systems(user)


def _reviewer(user: object) -> bool:
    from zhengwu.sharing.services import is_share_reviewer

    return _is_staff(user) and is_share_reviewer(user)


def _auditor(user: object) -> bool:
    return getattr(user, "is_authenticated", False) and getattr(user, "admin_role", "") == "audit_admin"


GATEWAY_PREFIX = "/gateway/v1/"


def _pooled_gateway_path(path: str) -> bool:
    """The gateway's endpoints with whole (non-streamed) answers: all but the bulk extract."""
    return path.startswith(GATEWAY_PREFIX) and not path.endswith("/extract")


class GatewayConfig(AppConfig):
    """数据服务网关: units' systems read granted resources with client credentials; every call enforced and accounted for."""

    name = "zhengwu.sharing.gateway"
    label = "gateway"
    verbose_name = "数据服务网关"

    def ready(self) -> None:
        from datetime import timedelta

        from zhengwu.core import periodic
        from zhengwu.core.audit_names import register_actions, register_object_types
        from zhengwu.core.consoles import ConsoleEntry, register
        from zhengwu.core.errorpages import register_json_prefix
        from zhengwu.core.threadpool_handler import register_route

        from .tasks import gateway_housekeeping

        # a missing route or a wrong method under /gateway/v1/ answers in the gateway's JSON too
        register_json_prefix(
            "/gateway/v1/", lambda status, message: {"error": {"status": status, "message": message, "field": ""}}
        )
        # the reads are sync views with whole answers: Django's sync handler on the web process's
        # thread pool (core.threadpool_handler); the bulk extract streams and stays on Django's ASGI path
        register_route(_pooled_gateway_path)
        register_actions(self.verbose_name, AUDIT_ACTIONS)
        register_object_types(self.verbose_name, AUDIT_OBJECT_TYPES)
        register(ConsoleEntry(
            key="gateway.index", title="数据服务网关", description="本单位系统调用共享数据的凭证、调用记录和统计",
            url_name="gateway:index", allowed=_is_staff, group="数据", family="数据", order=55,
        ))
        register(ConsoleEntry(
            key="gateway.keys", title="网关凭证", description="本单位系统的服务客户端和网关密钥（创建、吊销、来源地址限制）",
            url_name="gateway:keys", allowed=_manages, group="数据", family="数据", order=56,
        ))
        register(ConsoleEntry(
            key="gateway.limits", title="授权调用限制", description="为本单位给出的共享授权设置每分钟调用上限和每日配额",
            url_name="gateway:grant_limits", allowed=_reviewer, group="数据", family="数据", order=57,
        ))
        register(ConsoleEntry(
            key="gateway.data_use", title="数据使用记录", description="输入公民身份号码或统一社会信用代码，查看哪些单位的系统读取过其数据",
            url_name="gateway:data_use", allowed=_auditor, group="审计管理", family="管理", order=20,
        ))
        periodic.register(
            "gateway.housekeeping", gateway_housekeeping, timedelta(minutes=1),
            "数据服务网关：封存调用记录并写入审计链、汇总调用统计、清理过期的签名随机数",
        )
