from django.apps import AppConfig


class IdentityConfig(AppConfig):
    name = "zhengwu.identity"
    label = "identity"
    verbose_name = "身份认证"

    def ready(self) -> None:
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
                order=13,
            )
        )
        register(
            ConsoleEntry(
                key="identity.account",
                title="账号与安全",
                description="修改密码、动态口令、最近登录记录",
                url_name="identity:account",
                allowed=lambda u: True,
                group="个人",
                order=900,
            )
        )
