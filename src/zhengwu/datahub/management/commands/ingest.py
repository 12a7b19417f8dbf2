"""`zhengwu ingest FILE --resource CODE --user NAME`: collect a file into the data center here and
now, with a progress bar; exits 0 when the batch finished (refused rows are reported, not an
error), 1 when it failed. The user must be allowed to collect the resource (the provider's or
the data authority's 数据管理员): the batch and its audit records name them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from zhengwu.core.errors import DomainError


class Command(BaseCommand):
    help = "把文件归集到数据中心（CSV/XLSX/JSON Lines），按目录信息项校验，通过的行写入新版本，不通过的行进入隔离区"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="要归集的文件（.csv .txt .xlsx .jsonl .ndjson）")
        parser.add_argument("--resource", required=True, help="信息资源代码（目录中已发布的资源）")
        parser.add_argument("--user", required=True, help="以哪个账号归集（须为提供单位或数据主管部门的数据管理员）")
        parser.add_argument(
            "--mode", choices=["incremental", "full"], default="incremental",
            help="incremental 按主键增量更新（默认）；full 全量替换（删除文件中没有的行，删除超过设定比例时等待确认）",
        )
        parser.add_argument(
            "--encoding", choices=["", "UTF-8", "GBK", "GB18030", "Big5"], default="",
            help="CSV/JSON Lines 的文件编码（默认自动识别 UTF-8/GBK/GB18030）",
        )
        parser.add_argument("--no-progress", action="store_true", help="不显示进度条")

    def handle(
        self, *args: Any, file: str, resource: str, user: str, mode: str, no_progress: bool, encoding: str = "",
        **options: Any,
    ) -> None:
        from tqdm import tqdm

        from zhengwu.directory.models import User

        from ...constants import BatchStage, BatchStatus
        from ...models import IngestBatch
        from ...services import ingest_file

        actor = User.objects.filter(username__iexact=user, is_active=True).first()
        if actor is None:
            raise CommandError(f"账号 {user} 不存在或已停用")
        stages = dict(BatchStage.choices)
        bar = None if no_progress else tqdm(total=100, unit="%", desc="排队", bar_format="{desc} {bar} {n_fmt}% [{elapsed}]")

        def progress(batch: IngestBatch) -> None:
            if bar is None:
                return
            bar.set_description_str(f"{stages.get(batch.stage, batch.stage)} {batch.rows_in:,} 行")
            bar.n = batch.progress
            bar.refresh()

        try:
            batch = ingest_file(actor, resource, Path(file), mode=mode, encoding=encoding, progress=progress)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        finally:
            if bar is not None:
                bar.close()
        if batch.status == BatchStatus.AWAITING:
            p = batch.preview or {}
            self.stdout.write(
                f"批次 {batch.pk} 待确认：全量替换将删除 {p.get('deleted', 0):,} 行（当前 {p.get('rows_current', 0):,} 行），"
                f"新增 {p.get('inserted', 0):,} 行、更新 {p.get('updated', 0):,} 行；尚未写入。"
                f"请在工作台“数据归集 → 批次 {batch.pk}”确认或取消。"
            )
            return
        if batch.status != BatchStatus.SUCCEEDED:
            raise CommandError(f"批次 {batch.pk} 失败：{batch.error_message}")
        self.stdout.write(
            f"批次 {batch.pk} 完成：读入 {batch.rows_in:,} 行，入库 {batch.rows_accepted:,} 行，隔离 {batch.rows_refused:,} 行；"
            f"编码 {batch.encoding or '—'}；数据版本 {batch.lake_version if batch.lake_version is not None else '未变'}"
        )
        for note in batch.notes or []:
            self.stdout.write(f"说明：{note}")
        if batch.rows_refused:
            self.stdout.write(f"隔离行可在工作台“数据归集 → 批次 {batch.pk}”查看和下载，修正后补正重报。")
