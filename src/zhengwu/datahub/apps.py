from collections.abc import Callable

from django.apps import AppConfig


def _is_staff(user: object) -> bool:
    return bool(
        getattr(user, "is_authenticated", False) and getattr(user, "is_active", False) and not getattr(user, "admin_role", "")
    )


def _is_data_admin(user: object) -> bool:
    from zhengwu.catalog.services import data_admin_units

    return _is_staff(user) and bool(data_admin_units(user))


# Every action and object type this app records, with its Chinese name (core.audit_names).
AUDIT_ACTIONS = {
    "datahub.batch.submit": "上传数据文件",
    "datahub.batch.push": "接口推送数据",
    "datahub.batch.finish": "批次处理完成",
    "datahub.batch.recover": "恢复中断的批次",
    "datahub.batch.await_confirmation": "全量替换待确认",
    "datahub.batch.confirm": "确认全量替换",
    "datahub.batch.recheck": "重新校验全量替换",
    "datahub.batch.cancel": "取消全量替换",
    "datahub.batch.expire": "全量替换确认超时取消",
    "datahub.input.purge": "清除过期原始输入",
    "datahub.source.create": "添加数据库来源",
    "datahub.source.delete": "删除数据库来源",
    "datahub.source.run": "运行数据库抽取",
    "datahub.source.pull": "数据库抽取失败",
    "datahub.version.read": "查看数据版本",
    "datahub.version.rollback": "回滚数据版本",
    "datahub.changes.read": "读取变更明细",
    "datahub.quarantine.read": "查看隔离数据",
    "datahub.quarantine.export": "导出隔离数据",
    "datahub.quality.read": "查看数据质量评分",
    "datahub.quality.export": "导出数据质量评分",
    "datahub.token.create": "创建推送令牌",
    "datahub.token.revoke": "吊销推送令牌",
    "datahub.rule.create": "添加校验规则",
    "datahub.rule.delete": "删除校验规则",
}
AUDIT_OBJECT_TYPES = {
    "resource": "数据资源",
    "data_source": "数据库来源",
    "push_token": "推送令牌",
    "ingest_batch": "归集批次",
    "work_space": "批次工作目录",
    "quality": "数据质量评分",
    "unit": "单位",
}


def _count(query: str) -> Callable[[object], int]:
    """A to-do count from the same datahub.queries function as its list (/datahub/?todo=…)."""

    def count(user: object) -> int:
        from . import queries

        rows = getattr(queries, query)(user)
        return len(rows) if isinstance(rows, list) else rows.count()

    return count


def _todo_url(todo: str) -> Callable[[object], str]:
    def url(user: object) -> str:
        from django.urls import reverse

        return f"{reverse('datahub:index')}?todo={todo}"

    return url


class DatahubConfig(AppConfig):
    name = "zhengwu.datahub"
    label = "datahub"
    verbose_name = "数据归集"

    def ready(self) -> None:
        from zhengwu.core.audit_names import register_actions, register_object_types

        register_actions(self.verbose_name, AUDIT_ACTIONS)
        register_object_types(self.verbose_name, AUDIT_OBJECT_TYPES)

        # identity's real-name checks look people and enterprises up in the base resources here.
        from zhengwu.core.verifiers import register_enterprise_verifier, register_person_verifier

        from . import verifiers

        register_person_verifier(verifiers.verify_person)
        register_enterprise_verifier(verifiers.find_enterprise)

        from zhengwu.core.consoles import ConsoleEntry, register

        register(ConsoleEntry(
            key="datahub.mine", title="数据归集", description="上传、抽取、推送本单位数据；查看批次、隔离区和版本",
            url_name="datahub:index", allowed=_is_data_admin, group="数据", family="数据", order=40,
        ))
        register(ConsoleEntry(
            key="datahub.quality", title="数据质量评分", description="各资源、各单位的数据质量评分和排名",
            url_name="datahub:quality", allowed=_is_staff, group="数据", family="数据", order=41,
        ))
        from zhengwu.core.consoles import register_todo

        register_todo("datahub.failed", "失败待重新提交的批次", "数据", _count("failed_batches"),
                      _todo_url("failed"), _is_data_admin, order=40)
        register_todo("datahub.quarantine", "隔离区待补正的批次", "数据", _count("quarantine_open_batches"),
                      _todo_url("quarantine"), _is_data_admin, order=41)
        register_todo("datahub.overdue", "逾期未更新的资源", "数据", _count("overdue_resources"),
                      _todo_url("overdue"), _is_data_admin, order=42)
        from datetime import timedelta

        from zhengwu.core import periodic

        from .tasks import datahub_housekeeping

        periodic.register(
            "datahub.housekeeping", datahub_housekeeping, timedelta(minutes=1),
            "数据归集：恢复中断的批次、按更新周期抽取数据库来源、清除过了保留期的原始输入和残留的中间文件",
        )
