from django.apps import AppConfig

# Every action and object type this app records, with its Chinese name (core.audit_names).
AUDIT_ACTIONS = {
    "identity.login": "登录",
    "identity.logout": "退出登录",
    "identity.session_timeout": "会话超时退出",
    "identity.lock": "登录失败锁定",
    "identity.unlock": "解除登录锁定",
    "identity.purge_login_history": "清理过期登录记录",
    "identity.password_set": "设置密码",
    "identity.password_change": "修改密码",
    "identity.totp_enrol": "绑定动态口令",
    "identity.totp_disable": "停用动态口令",
    "identity.totp_reset": "重置动态口令",
    "identity.webauthn_register": "登记安全密钥",
    "identity.webauthn_remove": "移除安全密钥",
    "identity.webauthn_reset": "重置安全密钥",
    "identity.webauthn_clone": "安全密钥签名计数回退（疑似被复制）",
    "identity.policy_change": "修改安全策略",
    "identity.egress_add": "添加出站白名单",
    "identity.egress_remove": "移除出站白名单",
}
AUDIT_OBJECT_TYPES = {
    "directory.user": "用户账号",
    "identity.lock.account": "账号锁定",
    "identity.lock.address": "来源地址锁定",
    "identity.securitypolicy": "安全策略",
    "identity.webauthncredential": "安全密钥",
    "core.egressdestination": "出站白名单条目",
}


class IdentityConfig(AppConfig):
    name = "zhengwu.identity"
    label = "identity"
    verbose_name = "身份认证"

    def ready(self) -> None:
        from zhengwu.core.audit_names import register_actions, register_object_types

        register_actions(self.verbose_name, AUDIT_ACTIONS)
        register_object_types(self.verbose_name, AUDIT_OBJECT_TYPES)

        from django.core import checks

        from .webauthn import check_settings

        checks.register(check_settings, "security")

        from datetime import timedelta

        from zhengwu.core import periodic
        from zhengwu.core.consoles import ConsoleEntry, register

        from .tasks import purge_login_history

        periodic.register(
            "identity.purge_login_history",
            purge_login_history,
            timedelta(days=1),
            "清理过期的登录尝试与锁定记录",
        )

        def is_security_admin(user: object) -> bool:
            return getattr(user, "admin_role", "") == "security_admin"

        register(
            ConsoleEntry(
                key="identity.locks",
                title="登录锁定与失败",
                description="查看被锁定的账号和来源地址并解锁，查看最近的登录失败",
                url_name="identity:security_home",
                allowed=is_security_admin,
                group="安全管理",
                family="管理",
                order=10,
            )
        )
        register(
            ConsoleEntry(
                key="identity.policy",
                title="安全策略",
                description="密码复杂度、有效期、登录失败锁定、会话超时、动态口令",
                url_name="identity:policy_edit",
                allowed=is_security_admin,
                group="安全管理",
                family="管理",
                order=11,
            )
        )
        register(
            ConsoleEntry(
                key="identity.totp_reset",
                title="重置动态口令",
                description="用户更换或丢失手机时重置其动态口令，下次登录重新绑定",
                url_name="identity:totp_reset",
                allowed=is_security_admin,
                group="安全管理",
                family="管理",
                order=12,
            )
        )
        register(
            ConsoleEntry(
                key="identity.webauthn_reset",
                title="重置安全密钥",
                description="用户丢失安全密钥或更换手机时移除其登记的安全密钥（WebAuthn）",
                url_name="identity:webauthn_reset",
                allowed=is_security_admin,
                group="安全管理",
                family="管理",
                order=12,
            )
        )
        register(
            ConsoleEntry(
                key="identity.egress",
                title="出站白名单",
                description="数据源等出站连接可以访问的主机、网段和端口；其余一律拒绝",
                url_name="identity:egress",
                allowed=is_security_admin,
                group="安全管理",
                family="管理",
                order=13,
            )
        )
        from zhengwu.core.consoles import register_todo

        def locks_count(user: object) -> int:
            from .queries import active_locks

            return active_locks(user).count()

        def locks_url(user: object) -> str:
            from django.urls import reverse

            return reverse("identity:security_home") + "#locks"

        register_todo("identity.locks", "生效中的登录锁定", "管理", locks_count, locks_url, is_security_admin, order=20)
        register(
            ConsoleEntry(
                key="identity.account",
                title="账号与安全",
                description="修改密码、动态口令、安全密钥、最近登录记录",
                url_name="identity:account",
                allowed=lambda u: True,
                group="个人",
                family="个人",
                order=900,
            )
        )
