from typing import Any

from django.apps import AppConfig


def _is_system_admin(user: object) -> bool:
    return bool(getattr(user, "is_active", False) and getattr(user, "admin_role", "") == "system_admin")


def _is_logged_in(user: object) -> bool:
    return bool(getattr(user, "is_authenticated", False) and getattr(user, "is_active", False))


# Every action and object type this app records, with its Chinese name (core.audit_names).
AUDIT_ACTIONS = {
    "directory.unit.create": "新建单位",
    "directory.unit.update": "修改单位",
    "directory.unit.move": "调整单位隶属关系",
    "directory.unit.deactivate": "停用单位",
    "directory.unit.activate": "启用单位",
    "directory.user.create": "新建用户",
    "directory.user.update": "修改用户",
    "directory.user.read": "查看用户信息",
    "directory.user.disable": "停用用户",
    "directory.user.enable": "启用用户",
    "directory.user.reset_password": "重置用户密码",
    "directory.user.assign_admin_role": "指定管理员角色",
    "directory.role.grant": "授予业务角色",
    "directory.role.revoke": "收回业务角色",
    "directory.demo.load": "加载示范机构与人员",
}
AUDIT_OBJECT_TYPES = {
    "unit": "单位",
    "user": "用户",
    "demo": "示范数据",
}


def _users_with_role(role_code: str, unit: Any) -> list[Any]:
    """Active staff holding a business role in a unit (recipients of a notification to a role)."""
    from .models import User

    return list(
        User.objects.filter(
            is_active=True, admin_role="", role_grants__role__code=role_code, role_grants__unit=unit
        ).distinct()
    )


class DirectoryConfig(AppConfig):
    name = "zhengwu.directory"
    label = "directory"
    verbose_name = "政务机构与人员目录"

    def ready(self) -> None:
        from zhengwu.core.audit_names import register_actions, register_object_types

        register_actions(self.verbose_name, AUDIT_ACTIONS)
        register_object_types(self.verbose_name, AUDIT_OBJECT_TYPES)

        from zhengwu.core import notifications
        from zhengwu.core.consoles import ConsoleEntry, register

        notifications.register_role_resolver(_users_with_role)

        register(
            ConsoleEntry(
                key="directory.units",
                title="单位管理",
                description="维护单位树：新建、编辑、调整隶属关系、停用单位",
                url_name="directory:unit_tree",
                allowed=_is_system_admin,
                group="系统管理",
                family="管理",
                order=10,
            )
        )
        register(
            ConsoleEntry(
                key="directory.users",
                title="用户管理",
                description="工作人员账号：新建、停用、重置密码、授予和收回业务角色",
                url_name="directory:user_list",
                allowed=_is_system_admin,
                group="系统管理",
                family="管理",
                order=11,
            )
        )
        register(
            ConsoleEntry(
                key="directory.browse",
                title="机构目录",
                description="浏览全市各级单位及其隶属关系",
                url_name="directory:browse",
                allowed=_is_logged_in,
                group="通用",
                family="数据",
                order=90,
            )
        )
