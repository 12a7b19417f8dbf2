"""`zhengwu audit verify [--sink FILE] | ship | purge --before YYYY-MM-DD [--yes] | checkpoint`.

verify      walk the hash chain and compare every record with the external JSON Lines copy
            (ZHENGWU_AUDIT_SINK_FILE, or --sink FILE, e.g. a copy exported from the syslog
            collector); exit 0 with a summary when both agree, otherwise print the first problem
            (naming the record, and the field that differs) and exit 1.
ship        copy every record not yet in the external copies (file, syslog) now; exit 1 when a
            copy failed (the reason is printed; nothing is lost, the worker retries every minute).
purge       delete records older than the given date (start of that day, platform time zone);
            refused (exit 1, with the reason) when the date is within the retention period or
            the chain does not verify. Writes a signed purge checkpoint.
checkpoint  sign the current chain head (a periodic checkpoint).
"""

from __future__ import annotations

import datetime as dt
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from zhengwu.core.errors import DomainError


def _parse_date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"日期格式应为 YYYY-MM-DD：{value!r}") from exc


class Command(BaseCommand):
    help = "审计日志：核验哈希链并与外部副本比对（verify）、补写外部副本（ship）、清理过期记录（purge）、签署检查点（checkpoint）"

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True, metavar="{verify,ship,purge,checkpoint}")
        verify = sub.add_parser("verify", help="核验审计哈希链并与外部副本逐条比对，一致时退出码 0，否则 1")
        verify.add_argument("--sink", default="", help="与此 JSON Lines 副本比对（默认 ZHENGWU_AUDIT_SINK_FILE）")
        sub.add_parser("ship", help="立即把尚未写入外部副本（文件、syslog）的审计记录补写过去")
        purge = sub.add_parser("purge", help="清理早于指定日期的审计记录（至少保留六个月）")
        purge.add_argument("--before", required=True, help="清理此日期（YYYY-MM-DD，当日零点）之前的记录")
        purge.add_argument("--yes", action="store_true", help="不再询问确认")
        sub.add_parser("checkpoint", help="为当前链头签署定期检查点")

    def handle(self, *args: Any, **options: Any) -> None:
        subcommand = options["subcommand"]
        if subcommand == "verify":
            self._verify(options["sink"])
        elif subcommand == "ship":
            self._ship()
        elif subcommand == "purge":
            self._purge(options["before"], options["yes"])
        elif subcommand == "checkpoint":
            self._checkpoint()
        else:  # pragma: no cover - argparse refuses unknown subcommands
            raise CommandError(f"未知的子命令：{subcommand}")

    def _verify(self, sink_file: str) -> None:
        from zhengwu.audit.queries import verify_audit_log

        result = verify_audit_log(sink_file=sink_file or None)
        notes = "".join(f"\n  {note}" for note in result.notes)
        if not result.ok:
            assert result.problem is not None
            field = f"，字段：{result.problem.field}" if result.problem.field else ""
            raise CommandError(
                f"{result.message}（问题类型：{result.problem.kind_label}{field}，已核验 {result.checked} 条）{notes}",
                returncode=1,
            )
        self.stdout.write(self.style.SUCCESS(result.message) + notes)

    def _ship(self) -> None:
        from zhengwu.audit.sink import ship_pending

        outcome = ship_pending(limit=None, retry_syslog=True)
        self.stdout.write(
            f"已补写外部副本：文件 {outcome.file_written} 条，syslog {outcome.syslog_sent} 条。"
        )
        if outcome.errors:
            raise CommandError("；".join(outcome.errors), returncode=1)

    def _purge(self, before_text: str, yes: bool) -> None:
        from zhengwu.audit.queries import purge_preview
        from zhengwu.audit.services import as_aware_datetime, do_purge_records, retention_cutoff

        before = as_aware_datetime(_parse_date(before_text))
        cutoff = retention_cutoff()
        if before <= cutoff:
            preview = purge_preview(before)
            if not preview["count"]:
                self.stdout.write(f"没有早于 {before_text} 的审计记录可清理。")
            elif not yes:
                prompt = (
                    f"将删除 {preview['count']} 条早于 {before_text} 的审计记录"
                    f"（#{preview['first_seq']} 至 #{preview['last_seq']}）并签署清理检查点。确认？[y/N] "
                )
                if not sys.stdin.isatty():
                    raise CommandError("非交互运行时必须加 --yes 确认清理", returncode=1)
                if input(prompt).strip().lower() not in ("y", "yes"):
                    raise CommandError("已取消，未删除任何记录", returncode=1)
        try:
            outcome = do_purge_records(None, before)
        except DomainError as exc:
            raise CommandError(exc.message, returncode=1) from exc
        if outcome.purged_count:
            assert outcome.checkpoint is not None
            self.stdout.write(
                self.style.SUCCESS(
                    f"已清理 {outcome.purged_count} 条审计记录（#{outcome.first_seq} 至 #{outcome.last_seq}），"
                    f"清理检查点已签署（链位置 #{outcome.checkpoint.seq}）。"
                )
            )
        else:
            self.stdout.write("没有需要清理的记录。")

    def _checkpoint(self) -> None:
        from zhengwu.audit.services import do_create_checkpoint

        try:
            checkpoint = do_create_checkpoint(None)
        except DomainError as exc:
            raise CommandError(exc.message, returncode=1) from exc
        assert checkpoint is not None  # only the worker's automatic run skips
        when = timezone.localtime(checkpoint.created_at).strftime("%Y-%m-%d %H:%M:%S")
        self.stdout.write(
            self.style.SUCCESS(
                f"已签署检查点：链位置 #{checkpoint.seq}，哈希 {checkpoint.hash}，时间 {when}。"
            )
        )
