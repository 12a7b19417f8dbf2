from django.apps import AppConfig

# Every action and object type this app records, with its Chinese name (core.audit_names).
AUDIT_ACTIONS = {
    "public.sms_send": "发送短信验证码",
    "public.register": "公众用户注册",
    "public.realname_verify": "实名核验",
    "public.realname_in_person": "窗口高级实名核验",
    "public.enterprise_bind": "企业认证",
    "public.agent_authorise": "授权经办人",
    "public.agent_revoke": "撤销经办人",
    "public.enterprise_switch": "切换办事企业",
    "public.data_export": "导出个人信息",
    "public.account_close": "注销公众账号",
    "public.outbox_read": "查看短信发件箱",
}
AUDIT_OBJECT_TYPES = {
    "public.sms_code": "短信验证码",
    "public.enterprise": "企业账号",
}


def _is_system_admin(user: object) -> bool:
    return getattr(user, "admin_role", "") == "system_admin" and getattr(user, "is_active", False)


def _is_in_person_verifier(user: object) -> bool:
    from .services import is_in_person_verifier

    return is_in_person_verifier(user)


class PublicAccountsConfig(AppConfig):
    """公众用户: accounts of citizens (自然人) and enterprises (法人) with their 经办人."""

    name = "zhengwu.identity.public"
    label = "public_accounts"
    verbose_name = "公众用户"

    def ready(self) -> None:
        from zhengwu.core.audit_names import register_actions, register_object_types

        register_actions(self.verbose_name, AUDIT_ACTIONS)
        register_object_types(self.verbose_name, AUDIT_OBJECT_TYPES)

        from zhengwu.core.consoles import ConsoleEntry, register

        register(ConsoleEntry(
            key="public_accounts.outbox", title="短信发件箱",
            description="开发和演示环境的短信发送记录（验证码），接入短信网关后不再使用",
            url_name="public_accounts:outbox", allowed=_is_system_admin, group="系统管理", family="管理", order=60,
        ))
        register(ConsoleEntry(
            key="public_accounts.in_person", title="高级实名核验",
            description="窗口现场核验身份证件后，将已实名的公众用户提升为高级实名",
            url_name="public_accounts:in_person", allowed=_is_in_person_verifier, group="政务服务", family="服务",
            order=70,
        ))

        from datetime import timedelta

        from zhengwu.core import periodic

        from .tasks import purge_rate_events

        periodic.register(
            "public_accounts.purge", purge_rate_events, timedelta(hours=1),
            "公众用户：清除过期的频率计数和短信验证码",
        )
