from django.apps import AppConfig

# Every action and object type this app records, with its Chinese name (core.audit_names).
AUDIT_ACTIONS = {
    "oidc.client_register": "登记应用系统",
    "oidc.client_approve": "批准应用系统接入",
    "oidc.client_refuse": "退回应用系统登记",
    "oidc.client_secret_rotate": "更换应用系统密钥",
    "oidc.client_disable": "停用应用系统",
    "oidc.client_enable": "启用应用系统",
    "oidc.authorize": "统一认证登录应用系统",
    "oidc.refuse_account": "应用系统拒绝该类账号",
    "oidc.code_reuse": "授权码重复使用（已吊销其令牌）",
    "oidc.backchannel_logout": "后台退出通知",
    "oidc.key_rotate": "更换令牌签名密钥",
    "oidc.key_retire": "停止发布旧签名密钥",
}
AUDIT_OBJECT_TYPES = {
    "oidc.client": "应用系统",
    "oidc.signing_key": "令牌签名密钥",
}


class OidcConfig(AppConfig):
    """统一身份认证: the platform as an OpenID Connect provider for the units' systems."""

    name = "zhengwu.identity.oidc"
    label = "oidc"
    verbose_name = "统一身份认证"

    def ready(self) -> None:
        from datetime import timedelta

        from django.contrib.auth.signals import user_logged_in

        from zhengwu.core import periodic
        from zhengwu.core.audit_names import register_actions, register_object_types
        from zhengwu.core.consoles import ConsoleEntry, register, register_todo
        from zhengwu.identity.services import register_session_end_hook

        from . import services
        from .tasks import retire_signing_keys

        register_actions(self.verbose_name, AUDIT_ACTIONS)
        register_object_types(self.verbose_name, AUDIT_OBJECT_TYPES)
        register_session_end_hook(services.end_sso_session)
        # Django's own login signal, the one place every login passes (identity's login functions
        # belong to identity): its time is the SSO session's auth_time (max_age, prompt=login).
        user_logged_in.connect(_logged_in, dispatch_uid="oidc.remember_login")
        periodic.register(
            "oidc.retire_signing_keys", retire_signing_keys, timedelta(hours=1), "停止发布已过期的旧令牌签名密钥"
        )
        register(
            ConsoleEntry(
                key="oidc.clients",
                title="应用系统接入",
                description="登记本单位的业务系统接入统一身份认证（单点登录），管理密钥、停用启用",
                url_name="oidc:clients",
                allowed=lambda u: services.is_app_admin(u),
                group="统一身份认证",
                family="服务",
                order=50,
            )
        )
        register(
            ConsoleEntry(
                key="oidc.review",
                title="应用系统接入审核",
                description="审核各单位登记的应用系统：批准后才能使用统一身份认证",
                url_name="oidc:review",
                allowed=services.is_system_admin,
                group="系统管理",
                family="管理",
                order=30,
            )
        )

        def pending_count(user: object) -> int:
            from .queries import pending_registrations

            return pending_registrations(user).count()

        def review_url(user: object) -> str:
            from django.urls import reverse

            return reverse("oidc:review")

        register_todo(
            "oidc.pending", "待审核的应用系统接入", "管理", pending_count, review_url, services.is_system_admin, order=30
        )


def _logged_in(sender: object, request: object, user: object, **kwargs: object) -> None:
    from .services import remember_login

    remember_login(request, user)  # type: ignore[arg-type]
