from collections.abc import Callable

from django.apps import AppConfig

# Every action and object type this app records, with its Chinese name (core.audit_names).
AUDIT_ACTIONS = {
    "sharing.request.file": "提交共享申请",
    "sharing.request.approve": "同意共享申请",
    "sharing.request.refuse": "不予共享",
    "sharing.request.withdraw": "撤回共享申请",
    "sharing.request.overdue": "共享申请逾期",
    "sharing.grant.create": "生成共享授权",
    "sharing.grant.revoke": "撤销共享授权",
    "sharing.grant.expire": "共享授权到期",
    "sharing.grant.remind": "共享授权续期提醒",
    "sharing.need.post": "提出共享需求",
    "sharing.need.assign": "分派共享需求",
    "sharing.need.answer": "答复共享需求",
}
AUDIT_OBJECT_TYPES = {
    "share_request": "共享申请",
    "share_grant": "共享授权",
    "share_need": "共享需求",
}


def _is_staff(user: object) -> bool:
    from .services import _is_staff as is_staff

    return is_staff(user)


def _is_reviewer(user: object) -> bool:
    from .services import is_share_reviewer

    return _is_staff(user) and is_share_reviewer(user)


def _is_authority(user: object) -> bool:
    from .services import is_data_authority

    return is_data_authority(user)


def _is_data_admin(user: object) -> bool:
    from .services import is_unit_data_admin

    return is_unit_data_admin(user)


def _count(query: str) -> Callable[[object], int]:
    """A to-do count from the same sharing.queries function as the list its link opens."""

    def count(user: object) -> int:
        from . import queries

        return int(getattr(queries, query)(user).count())

    return count


def _url(name: str, suffix: str = "") -> Callable[[object], str]:
    def url(user: object) -> str:
        from django.urls import reverse

        return reverse(name) + suffix

    return url


class SharingConfig(AppConfig):
    name = "zhengwu.sharing"
    label = "sharing"
    verbose_name = "共享交换"

    def ready(self) -> None:
        from zhengwu.core.audit_names import register_actions, register_object_types

        register_actions(self.verbose_name, AUDIT_ACTIONS)
        register_object_types(self.verbose_name, AUDIT_OBJECT_TYPES)

        from zhengwu.core.consoles import ConsoleEntry, register, register_todo

        register(ConsoleEntry(
            key="sharing.mine", title="共享申请", description="本单位申请使用其他单位的数据：用途、依据、信息项、范围和期限",
            url_name="sharing:index", allowed=_is_staff, group="数据", family="数据", order=50,
        ))
        register(ConsoleEntry(
            key="sharing.review", title="共享审核", description="审核其他单位对本单位数据的有条件共享申请",
            url_name="sharing:review", allowed=_is_reviewer, group="数据", family="数据", order=51,
        ))
        register(ConsoleEntry(
            key="sharing.grants", title="共享授权", description="本单位获得的和给出的共享授权：到期、撤销、续期",
            url_name="sharing:grants", allowed=_is_staff, group="数据", family="数据", order=52,
        ))
        register(ConsoleEntry(
            key="sharing.needs", title="共享需求", description="目录中还没有的数据：提出需求，数据主管部门分派，责任单位答复",
            url_name="sharing:needs", allowed=_is_staff, group="数据", family="数据", order=53,
        ))
        register(ConsoleEntry(
            key="sharing.supervision", title="共享督办", description="各单位逾期未答复的共享申请",
            url_name="sharing:supervision", allowed=_is_authority, group="数据", family="数据", order=54,
        ))
        register_todo("sharing.review", "待我审核的共享申请", "数据", _count("review_queue"),
                      _url("sharing:review"), _is_reviewer, order=50)
        register_todo("sharing.overdue", "逾期未答复的共享申请", "数据", _count("overdue_for_provider"),
                      _url("sharing:review", "?overdue=1"), _is_reviewer, order=51)
        register_todo("sharing.supervision", "共享申请督办（逾期）", "数据", _count("supervision_list"),
                      _url("sharing:supervision"), _is_authority, order=52)
        register_todo("sharing.needs_assign", "待分派的共享需求", "数据", _count("needs_to_assign"),
                      _url("sharing:needs", "?todo=assign"), _is_authority, order=53)
        register_todo("sharing.needs_answer", "待答复的共享需求", "数据", _count("needs_to_answer"),
                      _url("sharing:needs", "?todo=answer"), _is_data_admin, order=54)

        from datetime import timedelta

        from zhengwu.core import periodic

        from .tasks import sharing_housekeeping

        periodic.register(
            "sharing.housekeeping", sharing_housekeeping, timedelta(hours=1),
            "共享交换：到期授权失效、到期前提醒续期、逾期未答复的申请列入督办",
        )
