"""公共数据开放: open data on the portal, a CKAN-compatible Action API and DCAT-AP."""
from __future__ import annotations

from typing import Any

from django.apps import AppConfig

# Every action and object type this app records, with its Chinese name (core.audit_names).
AUDIT_ACTIONS = {
    "opendata.application.file": "提交开放数据申请",
    "opendata.application.approve": "同意开放数据申请",
    "opendata.application.refuse": "不予同意开放数据申请",
    "opendata.key.issue": "领取开放数据接口密钥",
    "opendata.key.use": "以接口密钥使用有条件开放数据",
    "opendata.reuse.submit": "提交应用成果",
    "opendata.reuse.publish": "发布应用成果",
    "opendata.reuse.reject": "退回应用成果",
    "opendata.discussion.post": "提交数据集留言",
    "opendata.discussion.answer": "答复数据集留言",
    "opendata.demo.load": "加载开放数据演示",
}
AUDIT_OBJECT_TYPES = {
    "opendata_application": "开放数据申请",
    "opendata_api_key": "开放数据接口密钥",
    "opendata_reuse": "应用成果",
    "opendata_discussion": "数据集留言",
}


def _is_reviewer(user: object) -> bool:
    from .services import reviewed_units

    return bool(reviewed_units(user))


def _is_moderator(user: object) -> bool:
    from .services import is_moderator

    return is_moderator(user)


def _pending_count(user: object) -> int:
    from .models import ApplicationStatus
    from .queries import review_queue

    return int(review_queue(user).filter(status=ApplicationStatus.PENDING).count())


def _review_url(user: object) -> str:
    from django.urls import reverse

    return reverse("opendata:review")


def _search(query: str, user: Any, limit: int) -> list[Any]:
    from .portal_hooks import search_results

    return search_results(query, user, limit)


class OpendataConfig(AppConfig):
    """公共数据开放: open data on the portal, a CKAN-compatible Action API and DCAT-AP."""

    name = "zhengwu.opendata"
    label = "opendata"
    verbose_name = "公共数据开放"

    def ready(self) -> None:
        from zhengwu.core.audit_names import register_actions, register_object_types
        from zhengwu.core.consoles import ConsoleEntry, register, register_todo
        from zhengwu.portal import sections

        from . import portal_hooks

        register_actions(self.verbose_name, AUDIT_ACTIONS)
        register_object_types(self.verbose_name, AUDIT_OBJECT_TYPES)
        register(ConsoleEntry(
            key="opendata.review", title="开放数据申请审核",
            description="审核公众和企业对本单位有条件开放数据的使用申请（法定答复期限按工作日计）",
            url_name="opendata:review", allowed=_is_reviewer, group="数据", family="数据", order=60,
        ))
        register(ConsoleEntry(
            key="opendata.moderation", title="应用成果审核", description="审核公众和企业提交的开放数据应用成果",
            url_name="opendata:moderation", allowed=_is_moderator, group="数据", family="数据", order=61,
        ))
        register_todo("opendata.review", "待我审核的开放数据申请", "数据", _pending_count, _review_url, _is_reviewer, order=60)

        sections.register_nav("opendata", "开放数据", "opendata:home", order=30)
        sections.register_quick_entry("opendata", "开放数据", "搜索、下载和调用政府开放的数据集", "opendata:home", order=30)
        sections.register_search_provider("opendata", "开放数据", _search, order=20)
        portal_hooks.register_sections()
