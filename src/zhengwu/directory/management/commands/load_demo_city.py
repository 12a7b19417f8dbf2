"""`zhengwu load_demo_city`: load the demo city's units and accounts (idempotent)."""

from __future__ import annotations

import unicodedata
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from zhengwu.core.errors import DomainError
from zhengwu.directory import demo


def _pad(text: str, width: int) -> str:
    """Pad to a display width (CJK characters take two columns in a terminal)."""
    shown = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
    return text + " " * max(1, width - shown)


class Command(BaseCommand):
    help = (
        "加载示范市（梅州市区划代码 441400）的单位树和演示账号；可重复运行，已有数据不会改变。"
        "统一社会信用代码为演示值。密码取自环境变量 ZHENGWU_DEMO_PASSWORD（默认 Zhengwu@2026demo）。"
    )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            report = demo.load_demo_city()
        except DomainError as exc:
            raise CommandError(f"加载示范数据失败：{exc.message}") from exc
        out = self.stdout
        if not report.changed:
            out.write("示范市数据已存在，未做任何更改。")
        else:
            verb = "补充" if report.already_loaded else "加载"
            out.write(
                self.style.SUCCESS(
                    f"已{verb}示范市数据：新建单位 {len(report.created_units)} 个，账号 {len(report.created_users)} 个，"
                    f"角色授权 {len(report.created_grants)} 项。"
                )
            )
            out.write("注意：各单位的统一社会信用代码是按规则生成的演示值，不是真实机构的代码。")
        out.write("")
        out.write("演示账号（新建的账号使用下面的密码；已存在的账号密码未改动）：")
        out.write(_pad("用户名", 14) + _pad("姓名", 10) + _pad("角色", 26) + "单位")
        for spec in demo.ACCOUNTS:
            out.write(
                _pad(spec.username, 14)
                + _pad(spec.full_name, 10)
                + _pad(spec.role_label, 26)
                + spec.unit_name
            )
        out.write("")
        out.write("各账号能做什么：")
        for spec in demo.ACCOUNTS:
            out.write(f"  {spec.username}：{spec.can_do}")
        out.write("")
        out.write(f"演示密码：{report.password}")
        out.write("初始密码须在首次登录时修改：登录后先进入“修改密码”页面，改好后才能使用其他功能。")
        out.write(
            "管理员账号（xtadmin 系统管理员、aqadmin 安全管理员、sjadmin 审计管理员）首次登录时须绑定第二因素：TOTP 动态口令或安全密钥（WebAuthn）。"
        )
