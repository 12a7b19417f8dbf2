"""The demo city's portal: a 门户编辑 and a few genuine notices about the platform itself.

The notices say what the portal is and how to use it — nothing invented about the city. They are
written through the portal's services by the demo 门户编辑 (政务服务数据管理局's 业务经办人
zwb_clerk, who is given the role here), so each one is audited like any notice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from zhengwu.audit.services import record_event
from zhengwu.core.errors import DomainError

from . import services, site
from .models import Notice
from .permissions import PORTAL_EDITOR_ROLE

DEMO_EDITOR = "zwb_clerk"


def _notices() -> list[tuple[str, bool, str]]:
    city, app, portal = site.city_name(), site.app_name(), site.site_name()
    return [
        (f"{portal}开始试运行", True, (
            f"{portal}今天开始试运行。这是{city}统一的政务服务网上入口：市民和企业用一个账号，"
            "就可以在这里查看通知公告、在个人中心和企业中心查看自己的事项。\n\n"
            "目前已经开放：通知公告、帮助中心、公众用户注册与登录、个人中心、企业中心，以及手机应用"
            f"“{app}”。一网通办（网上办事）、12345 热线诉求、开放数据等栏目将陆续上线，上线后会在本栏目公告，"
            "并出现在首页的栏目和搜索中。\n\n"
            "试运行期间如发现问题，请拨打 12345 热线反映。"
        )),
        ("如何注册账号和完成实名认证", False, (
            "第一步：点击页面右上角的“注册”，填写姓名、居民身份证号码和手机号码，输入短信验证码，设置密码，"
            "阅读并同意《用户协议》和《隐私政策》。\n\n"
            "第二步：登录后进行实名认证。系统将您填写的姓名和身份证号码与全市人口基础信息核对，一致即为“已实名”。"
            "核对只比对是否一致，门户不保存人口信息的副本。\n\n"
            "如需办理要求“高级实名”的事项，请携带身份证到政务服务大厅窗口，由工作人员当面核验。"
            "详细说明见帮助中心。"
        )),
        (f"手机应用“{app}”安装说明", False, (
            f"“{app}”就是本门户的手机版，不需要到应用商店下载。\n\n"
            "安卓手机：用浏览器打开本门户，在菜单中选择“添加到主屏幕”或“安装应用”。\n"
            "苹果手机：用 Safari 打开本门户，点击“分享”，选择“添加到主屏幕”。\n\n"
            "安装后在没有网络时打开，会显示离线提示。为保护个人信息，个人中心、企业中心等页面不会保存在手机上。"
        )),
        ("企业用户：法定代表人认证和经办人授权", False, (
            "企业的法定代表人完成个人实名认证后，可以用本企业的统一社会信用代码进行企业认证，"
            "系统将与市场主体登记信息核对企业名称、法定代表人和登记状态。\n\n"
            "认证后，法定代表人可以授权本企业员工作为经办人，代表企业在网上办事；授权可以随时撤销，撤销立即生效。"
            "一个人可以同时是几家企业的经办人，在企业中心切换当前办理的企业。"
        )),
        ("个人信息保护：我们保存什么，您可以做什么", False, (
            "我们依照《个人信息保护法》处理您的个人信息，只收集办事所必需的信息，身份证号码等敏感信息加密保存、"
            "页面上部分遮盖显示。\n\n"
            "登录后，您可以在个人中心查看我们保存了您的哪些信息、导出自己的数据，或注销账号。"
            "政府部门通过数据服务网关每一次使用您的个人信息都会留下记录，完成实名认证后可以在“我的数据使用记录”中查看。\n\n"
            "详见本门户的《隐私政策》。"
        )),
    ]


@dataclass
class DemoReport:
    created: int = 0
    existing: int = 0
    notes: list[str] = field(default_factory=list)


def load_demo_portal() -> DemoReport:
    from zhengwu.directory.models import BusinessRole, RoleGrant, User

    editor = User.objects.filter(username=DEMO_EDITOR).select_related("unit").first()
    if editor is None or editor.unit is None:
        raise DomainError(f"演示城市尚未创建（找不到演示账号 {DEMO_EDITOR}）：请先运行 zhengwu load_demo_city")
    report = DemoReport()
    now = timezone.now()
    with transaction.atomic():
        role = BusinessRole.objects.get(code=PORTAL_EDITOR_ROLE)
        _, granted = RoleGrant.objects.get_or_create(user=editor, role=role, unit=editor.unit)
        if granted:
            report.notes.append(f"已授予 {DEMO_EDITOR}（{editor.unit.name}）“门户编辑”角色")
        for i, (title, pinned, body) in enumerate(_notices()):
            if Notice.objects.filter(title=title).exists():
                report.existing += 1
                continue
            # A minute apart, the launch notice the newest (and pinned): a stable order on the home page.
            services.do_create_notice(
                editor, title=title, body=body, pinned=pinned, published_at=now - timedelta(minutes=i)
            )
            report.created += 1
        record_event(
            None, "portal.demo.load", object_type="portal_notice", object_id="demo",
            details={"created": report.created, "existing": report.existing, "editor": DEMO_EDITOR,
                     "role_granted": granted},
        )
    return report
