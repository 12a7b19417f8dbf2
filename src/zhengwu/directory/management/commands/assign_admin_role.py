"""`zhengwu assign_admin_role USERNAME ROLE`: the only way to make someone an administrator."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from zhengwu.core.errors import DomainError
from zhengwu.directory.models import AdminRole, User
from zhengwu.directory.services import do_assign_admin_role

ROLE_ALIASES = {
    "system_admin": AdminRole.SYSTEM.value,
    "system": AdminRole.SYSTEM.value,
    "系统管理员": AdminRole.SYSTEM.value,
    "security_admin": AdminRole.SECURITY.value,
    "security": AdminRole.SECURITY.value,
    "安全管理员": AdminRole.SECURITY.value,
    "audit_admin": AdminRole.AUDIT.value,
    "audit": AdminRole.AUDIT.value,
    "审计管理员": AdminRole.AUDIT.value,
    "none": "",
}


class Command(BaseCommand):
    help = (
        "指定或取消账号的管理员角色（三权分立：同一人不得兼任两个管理员角色，管理员账号不得持有业务角色）。"
        "ROLE：system_admin / security_admin / audit_admin，或 none 取消。"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username", help="账号用户名")
        parser.add_argument("role", help="system_admin、security_admin、audit_admin 或 none")

    def handle(self, *args: Any, **options: Any) -> None:
        role_arg = str(options["role"]).strip()
        if role_arg.lower() in ROLE_ALIASES:
            role = ROLE_ALIASES[role_arg.lower()]
        elif role_arg in ROLE_ALIASES:
            role = ROLE_ALIASES[role_arg]
        else:
            raise CommandError(
                f"未知的管理员角色：{role_arg}（可选 system_admin、security_admin、audit_admin、none）"
            )
        user = User.objects.filter(username__iexact=str(options["username"]).strip()).first()
        if user is None:
            raise CommandError(f"账号不存在：{options['username']}")
        try:
            changed = do_assign_admin_role(None, user, role)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        label = AdminRole(role).label if role else "（无）"
        if changed:
            self.stdout.write(self.style.SUCCESS(f"已将 {user.username} 的管理员角色设为 {label}"))
        else:
            self.stdout.write(f"{user.username} 的管理员角色已是 {label}，未做更改")
