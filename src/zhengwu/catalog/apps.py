from collections.abc import Callable

from django.apps import AppConfig


def _is_staff(user: object) -> bool:
    return bool(
        getattr(user, "is_authenticated", False) and getattr(user, "is_active", False) and not getattr(user, "admin_role", "")
    )


def _is_data_admin(user: object) -> bool:
    """数据管理员 of the user's own unit: the same check as compiling, importing and answering
    纠错 (services.is_data_admin), so the menu never shows what the pages refuse."""
    from .services import is_data_admin

    return _is_staff(user) and is_data_admin(user, getattr(user, "unit", None))


def _review_count(user: object) -> int:
    from .queries import review_queue

    return review_queue(user).count()


def _corrections_count(user: object) -> int:
    from .queries import open_corrections_for_unit

    return open_corrections_for_unit(user).count()


def _returned_count(user: object) -> int:
    from .queries import RETURNED, my_unit_entries

    return my_unit_entries(user, RETURNED).count()


def _url(name: str, suffix: str = "") -> Callable[[object], str]:
    def url(user: object) -> str:
        from django.urls import reverse

        return reverse(name) + suffix

    return url


def _is_reviewer(user: object) -> bool:
    from .services import is_catalog_reviewer

    return _is_staff(user) and is_catalog_reviewer(user)


# Every action and object type this app records, with its Chinese name (core.audit_names).
AUDIT_ACTIONS = {
    "catalog.search": "检索目录",
    "catalog.entry.read": "查看目录",
    "catalog.version.read": "查看目录历史版本",
    "catalog.statistics.read": "查看目录统计",
    "catalog.export": "导出目录",
    "catalog.import": "导入目录",
    "catalog.entry.create": "新建目录",
    "catalog.entry.update": "修改目录",
    "catalog.entry.submit": "提交目录审核",
    "catalog.entry.withdraw": "撤回目录审核",
    "catalog.entry.approve": "审核发布目录",
    "catalog.entry.return": "退回目录",
    "catalog.entry.retire": "停用目录",
    "catalog.entry.data_arrival": "登记数据到达",
    "catalog.correction.create": "提交目录纠错",
    "catalog.correction.answer": "答复目录纠错",
    "catalog.demo.load": "加载示范目录",
    "catalog.synonym.add": "添加检索同义词",
    "catalog.synonym.remove": "删除检索同义词",
    "catalog.index.rebuild": "重建目录检索索引",
}
AUDIT_OBJECT_TYPES = {
    "catalog_entry": "目录",
    "search_synonym": "检索同义词",
}


class CatalogConfig(AppConfig):
    name = "zhengwu.catalog"
    label = "catalog"
    verbose_name = "政务信息资源目录"

    def ready(self) -> None:
        from zhengwu.core.audit_names import register_actions, register_object_types

        register_actions(self.verbose_name, AUDIT_ACTIONS)
        register_object_types(self.verbose_name, AUDIT_OBJECT_TYPES)

        from zhengwu.core.consoles import ConsoleEntry, register

        register(ConsoleEntry(
            key="catalog.search", title="政务信息资源目录", description="检索全市政务信息资源：谁有什么数据、谁可以用",
            url_name="catalog:index", allowed=_is_staff, group="数据", family="数据", order=30,
        ))
        register(ConsoleEntry(
            key="catalog.mine", title="本单位目录编制", description="编制、导入导出、提交审核本单位的目录，答复纠错",
            url_name="catalog:mine", allowed=_is_data_admin, group="数据", family="数据", order=31,
        ))
        register(ConsoleEntry(
            key="catalog.review", title="目录审核", description="审核各单位提交的目录：发布或退回",
            url_name="catalog:review", allowed=_is_reviewer, group="数据", family="数据", order=32,
        ))
        register(ConsoleEntry(
            key="catalog.stats", title="目录统计", description="各单位、各分类目录数，可共享率、可开放率，逾期更新",
            url_name="catalog:stats", allowed=_is_staff, group="数据", family="数据", order=33,
        ))
        from zhengwu.core.consoles import register_todo

        register_todo("catalog.review", "待我审核的目录", "数据", _review_count, _url("catalog:review"), _is_reviewer, order=30)
        register_todo(
            "catalog.corrections", "待答复的纠错", "数据", _corrections_count, _url("catalog:mine", "#corrections"),
            _is_data_admin, order=31,
        )
        register_todo(
            "catalog.returned", "被退回待修改的目录", "数据", _returned_count, _url("catalog:mine", "?status=returned"),
            _is_data_admin, order=32,
        )
        register(ConsoleEntry(
            key="catalog.synonyms", title="检索同义词",
            description="维护目录检索的同义词和简称（社保→社会保险、驾照→驾驶证 …）",
            url_name="catalog:synonyms", allowed=_is_reviewer, group="数据", order=34,
        ))
