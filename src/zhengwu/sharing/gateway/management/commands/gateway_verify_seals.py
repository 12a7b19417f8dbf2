"""`zhengwu gateway_verify_seals`: recompute every seal of the gateway's call log and compare it with
the seal and its audit-chain record; exit status 1 when any differs."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "核验数据服务网关调用记录的封存：逐段重新计算 SM3 摘要并与审计链中的封存记录比对。"

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--seal-now", action="store_true", help="核验前先封存尚未封存的调用")

    def handle(self, *args: Any, **options: Any) -> None:
        from zhengwu.sharing.gateway.services import do_seal_calls, verify_seals

        if options["seal_now"]:
            seal = do_seal_calls()
            if seal is not None:
                self.stdout.write(f"已封存调用 {seal.first_call_id}–{seal.last_call_id}（{seal.count} 条）")
        checks = verify_seals()
        bad = [c for c in checks if not c.ok]
        for check in bad:
            self.stdout.write(f"封存 {check.seal.first_call_id}–{check.seal.last_call_id}：{check.reason}")
        calls = sum(c.seal.count for c in checks)
        if bad:
            raise CommandError(f"{len(bad)} 段封存核验不通过（共 {len(checks)} 段）")
        self.stdout.write(f"全部 {len(checks)} 段封存核验通过，共 {calls} 条调用记录")
