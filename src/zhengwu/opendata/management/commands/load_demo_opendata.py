"""`zhengwu load_demo_opendata`: generated rows for every open table resource of the demo catalog,
collected into the lake through the real ingest path (idempotent)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from zhengwu.core.errors import DomainError


class Command(BaseCommand):
    help = (
        "为示范市目录中每个已发布的无条件开放、有条件开放的表格类资源生成演示数据（数据均为生成的演示数据，不是真实数据），"
        "由大数据管理局的数据管理员 dsj_data 经正式归集流程入库；可重复运行，已有数据版本的资源跳过。"
        "须先运行 load_demo_city、load_demo_catalog（和 load_demo_data）。"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=2026, help="随机种子（同一种子生成相同的数据）")

    def handle(self, *args: Any, **options: Any) -> None:
        from zhengwu.opendata.demo import load_demo_opendata
        from zhengwu.opendata.queries import open_datasets

        try:
            report = load_demo_opendata(seed=options["seed"])
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        for line in report.loaded:
            self.stdout.write(self.style.SUCCESS(f"  入库 {line}"))
        for line in report.skipped:
            self.stdout.write(f"  跳过 {line}")
        datasets = open_datasets()
        self.stdout.write(
            f"开放数据：新入库 {len(report.loaded)} 个资源，已有数据 {len(report.existing)} 个；"
            f"门户上共 {len(datasets)} 个开放数据集（有条件开放 {sum(d.conditional for d in datasets)} 个）。"
        )
