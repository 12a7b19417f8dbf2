from django.apps import AppConfig


def _is_system_admin(user: object) -> bool:
    return bool(getattr(user, "is_active", False) and getattr(user, "admin_role", "") == "system_admin")


def _is_logged_in(user: object) -> bool:
    return bool(getattr(user, "is_authenticated", False) and getattr(user, "is_active", False))


class DirectoryConfig(AppConfig):
    name = "zhengwu.directory"
    label = "directory"
    verbose_name = "政务机构与人员目录"

    def ready(self) -> None:
        from zhengwu.core.consoles import ConsoleEntry, register

        register(
            ConsoleEntry(
                key="directory.units",
                title="单位管理",
                description="维护单位树：新建、编辑、调整隶属关系、停用单位",
                url_name="directory:unit_tree",
                allowed=_is_system_admin,
                group="系统管理",
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
                order=90,
            )
        )
