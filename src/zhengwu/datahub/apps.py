from django.apps import AppConfig


def _is_staff(user: object) -> bool:
    return bool(
        getattr(user, "is_authenticated", False) and getattr(user, "is_active", False) and not getattr(user, "admin_role", "")
    )


def _is_data_admin(user: object) -> bool:
    from zhengwu.catalog.services import data_admin_units

    return _is_staff(user) and bool(data_admin_units(user))


class DatahubConfig(AppConfig):
    name = "zhengwu.datahub"
    label = "datahub"
    verbose_name = "数据归集"

    def ready(self) -> None:
        from zhengwu.core.consoles import ConsoleEntry, register

        register(ConsoleEntry(
            key="datahub.mine", title="数据归集", description="上传、抽取、推送本单位数据；查看批次、隔离区和版本",
            url_name="datahub:index", allowed=_is_data_admin, group="数据", order=40,
        ))
        register(ConsoleEntry(
            key="datahub.quality", title="数据质量评分", description="各资源、各单位的数据质量评分和排名",
            url_name="datahub:quality", allowed=_is_staff, group="数据", order=41,
        ))
        from datetime import timedelta

        from zhengwu.core import periodic

        from .tasks import datahub_housekeeping

        periodic.register(
            "datahub.housekeeping", datahub_housekeeping, timedelta(minutes=1),
            "数据归集：恢复中断的批次、按更新周期抽取数据库来源、清除过了保留期的原始输入和残留的中间文件",
        )
