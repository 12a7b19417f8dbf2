"""`zhengwu unlock`: lift a login lock from the server's command line (operator's last resort).

    zhengwu unlock --account xtadmin
    zhengwu unlock --address 127.0.0.1

The 安全管理员 normally unlocks in the console; this is for when they cannot log in themselves.
"""

from __future__ import annotations

import getpass
import ipaddress
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from zhengwu.core.errors import DomainError
from zhengwu.identity.models import LockKind
from zhengwu.identity.services import do_unlock_by_operator


class Command(BaseCommand):
    help = "解除登录锁定（按账号或来源地址），并写入审计日志"

    def add_arguments(self, parser: CommandParser) -> None:
        group = parser.add_mutually_exclusive_group(required=True)
        group.add_argument("--account", help="要解锁的账号（用户名）")
        group.add_argument("--address", help="要解锁的来源 IP 地址")

    def handle(self, *args: Any, account: str | None, address: str | None, **options: Any) -> None:
        if address is not None:
            try:
                address = str(ipaddress.ip_address(address.strip()))
            except ValueError as exc:
                raise CommandError(f"来源地址 {address!r} 不是合法的 IP 地址") from exc
            kind, key = LockKind.ADDRESS, address
        else:
            kind, key = LockKind.ACCOUNT, account or ""
        try:
            operator = getpass.getuser()
        except (KeyError, OSError):
            operator = "unknown"
        try:
            locks = do_unlock_by_operator(kind, key, operator=operator)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        label = "账号" if kind == LockKind.ACCOUNT else "来源地址"
        if not locks:
            self.stdout.write(f"{label} {key} 当前没有生效的锁定，无需解锁。")
            return
        for lock in locks:
            until = timezone.localtime(lock.locked_until).strftime("%Y-%m-%d %H:%M")
            self.stdout.write(f"已解除{label} {lock.key} 的锁定（原定 {until} 自动解锁），已记入审计日志。")
