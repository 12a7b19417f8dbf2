from django.apps import AppConfig

# Every action and object type this app records, with its Chinese name (core.audit_names).
AUDIT_ACTIONS = {
    "portal.notice.create": "新建通知公告",
    "portal.notice.update": "修改通知公告",
    "portal.notice.publish": "发布通知公告",
    "portal.notice.withdraw": "撤回通知公告",
    "portal.notice.delete": "删除通知公告",
    "portal.demo.load": "加载门户演示通知",
}
AUDIT_OBJECT_TYPES = {"portal_notice": "通知公告"}


def _is_editor(user: object) -> bool:
    from .permissions import is_portal_editor

    return is_portal_editor(user)


class PortalConfig(AppConfig):
    """门户: the public site (also the mobile app as a PWA) with 个人中心 / 企业中心."""

    name = "zhengwu.portal"
    label = "portal"
    verbose_name = "门户网站"

    def ready(self) -> None:
        from zhengwu.core.audit_names import register_actions, register_object_types
        from zhengwu.core.consoles import ConsoleEntry, register

        from . import account_sections, data_use_sections, sections
        from .search import search_notice_results

        register_actions(self.verbose_name, AUDIT_ACTIONS)
        register_object_types(self.verbose_name, AUDIT_OBJECT_TYPES)
        register(ConsoleEntry(
            key="portal.notices", title="门户通知公告", description="编辑门户首页的通知公告：草稿、定时发布、置顶、撤回",
            url_name="portal:console_notices", allowed=_is_editor, group="门户", family="服务", order=10,
        ))

        # The portal's own navigation, quick entries and search; higher apps add theirs in their ready().
        sections.register_nav("home", "首页", "portal:home", order=0)
        sections.register_nav("notices", "通知公告", "portal:notices", order=80)
        sections.register_nav("help", "帮助中心", "portal:help", order=90)
        sections.register_quick_entry("me", "个人中心", "我的办件、诉求、证照和数据使用记录", "portal:me", order=10)
        sections.register_quick_entry("enterprise", "企业中心", "以企业名义办事，管理经办人", "portal:enterprise", order=20)
        sections.register_quick_entry("help", "帮助中心", "注册、实名认证、经办人、个人信息保护", "portal:help", order=90)
        sections.register_search_provider("notices", "通知公告", search_notice_results, order=30)
        sections.register_search_kinds()  # 办事服务, 开放数据: "not yet" until their apps register
        account_sections.register()  # 账号与实名, 我的企业, 经办人 (public accounts)
        data_use_sections.register()  # 我的数据使用记录 / 企业数据使用记录 (the data gateway's DataUse)
        sections.register_slots()  # 我的办件, 我的诉求, 我的证照, 我的数据使用记录 until their apps fill them
