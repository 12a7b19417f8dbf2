from django.apps import AppConfig


def _is_staff(user: object) -> bool:
    return bool(
        getattr(user, "is_authenticated", False) and getattr(user, "is_active", False) and not getattr(user, "admin_role", "")
    )


def _is_data_admin(user: object) -> bool:
    from .services import data_admin_units

    return _is_staff(user) and bool(data_admin_units(user))


def _is_reviewer(user: object) -> bool:
    from .services import is_catalog_reviewer

    return _is_staff(user) and is_catalog_reviewer(user)


class CatalogConfig(AppConfig):
    name = "zhengwu.catalog"
    label = "catalog"
    verbose_name = "政务信息资源目录"

    def ready(self) -> None:
        from zhengwu.core.consoles import ConsoleEntry, register

        register(ConsoleEntry(
            key="catalog.search", title="政务信息资源目录", description="检索全市政务信息资源：谁有什么数据、谁可以用",
            url_name="catalog:index", allowed=_is_staff, group="数据", order=30,
        ))
        register(ConsoleEntry(
            key="catalog.mine", title="本单位目录编制", description="编制、导入导出、提交审核本单位的目录，答复纠错",
            url_name="catalog:mine", allowed=_is_data_admin, group="数据", order=31,
        ))
        register(ConsoleEntry(
            key="catalog.review", title="目录审核", description="审核各单位提交的目录：发布或退回",
            url_name="catalog:review", allowed=_is_reviewer, group="数据", order=32,
        ))
        register(ConsoleEntry(
            key="catalog.stats", title="目录统计", description="各单位、各分类目录数，可共享率、可开放率，逾期更新",
            url_name="catalog:stats", allowed=_is_staff, group="数据", order=33,
        ))
