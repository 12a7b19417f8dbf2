"""`zhengwu load_demo_data`: collect generated data for the demo city's base resources through the
real ingest path (idempotent: a resource that already has a succeeded batch is skipped)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from zhengwu.core.errors import DomainError

# Who delivers each base resource: the provider's 数据管理员, or the data authority's (大数据管理局),
# which may collect on behalf of any unit. (kind, account, file suffix)
DELIVERIES = [
    ("people", "gaj_data", ".csv"),
    ("legal_persons", "scj_data", ".csv"),
    ("licences", "dsj_data", ".jsonl"),
    ("addresses", "dsj_data", ".xlsx"),
]


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise CommandError(f"行数必须是整数，实为“{text}”") from None
    if value < 1:
        raise CommandError(f"行数必须大于 0，实为 {value}")
    return value


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise CommandError(f"错误率必须是 0 到 0.5 之间的小数，实为“{text}”") from None
    if not 0 <= value <= 0.5:
        raise CommandError(f"错误率必须在 0 到 0.5 之间，实为 {value}")
    return value


class Command(BaseCommand):
    help = (
        "为示范市的基础信息资源（人口、市场主体、电子证照目录、地名地址）生成演示数据（含约 2% 故意制造的错误），"
        "由各提供单位的数据管理员经正式归集流程入库；可重复运行，已有成功批次的资源跳过。"
        "须先运行 load_demo_city 和 load_demo_catalog。数据均为生成的演示数据，不是真实数据。"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--people", type=_positive, default=100_000, help="人口基本信息行数（默认 100000）")
        parser.add_argument("--companies", type=_positive, default=20_000, help="市场主体登记信息行数（默认 20000）")
        parser.add_argument("--licences", type=_positive, default=30_000, help="电子证照目录信息行数（默认 30000）")
        parser.add_argument("--addresses", type=_positive, default=20_000, help="地名地址信息行数（默认 20000）")
        parser.add_argument("--error-rate", type=_rate, default=0.02, help="故意出错的行所占比例（默认 0.02）")
        parser.add_argument("--seed", type=int, default=2026, help="随机种子（同一种子生成相同的数据）")

    def handle(self, *args: Any, **options: Any) -> None:
        from zhengwu.catalog.models import CatalogEntry
        from zhengwu.datahub import demo
        from zhengwu.datahub.constants import BatchStatus
        from zhengwu.datahub.models import IngestBatch
        from zhengwu.datahub.schema import schema_for
        from zhengwu.datahub.services import custom_rules, ingest_file
        from zhengwu.directory.models import User

        users: dict[str, Any] = {}
        for _kind, username, _suffix in DELIVERIES:
            user = User.objects.filter(username=username, is_active=True).first()
            if user is None:
                raise CommandError(f"演示城市尚未创建（找不到演示账号 {username}）：请先运行 zhengwu load_demo_city")
            users[username] = user
        entries: dict[str, CatalogEntry] = {}
        for kind, username, _suffix in DELIVERIES:
            name = demo.RESOURCE_NAMES[kind]
            live = CatalogEntry.objects.filter(name=name, published_version__gt=0, is_live=True).select_related("provider")
            own_unit = users[username].unit_id
            entry = live.filter(provider_id=own_unit).order_by("id").first() or live.order_by("id").first()
            if entry is None:
                raise CommandError(f"演示目录尚未载入（找不到已发布的资源“{name}”）：请先运行 zhengwu load_demo_catalog")
            entries[kind] = entry

        folder = Path(settings.DATA_DIR) / "demo"
        folder.mkdir(parents=True, exist_ok=True)
        counts = {
            "people": options["people"], "legal_persons": options["companies"],
            "licences": options["licences"], "addresses": options["addresses"],
        }
        common = {"seed": options["seed"], "error_rate": options["error_rate"]}
        tables: dict[str, demo.DemoTable] = {}
        out = self.stdout
        out.write(f"演示数据目录：{folder}（数据均为生成的演示数据，不是真实数据）")
        try:
            for kind, username, suffix in DELIVERIES:
                entry = entries[kind]
                actor = users[username]
                code = entry.resource_code
                schema = schema_for(code)
                done = IngestBatch.objects.filter(resource_code=code, status=BatchStatus.SUCCEEDED).exists()
                if kind != "people":
                    rules = []
                elif done:  # the rules the earlier run ingested with, so the same rows come out clean
                    rules = custom_rules(code)
                else:
                    rules = demo.ensure_demo_rules(actor, code, schema)
                if kind == "licences":
                    if done:
                        out.write(f"{entry.name}（{code}）：已有成功入库的批次，跳过。")
                        continue
                    holders = self._holders(tables, counts[kind])
                    table = demo.demo_rows(schema, counts[kind], kind=kind, holders=holders, **common)
                else:
                    table = demo.demo_rows(schema, counts[kind], kind=kind, rules=rules, **common)
                tables[kind] = table
                if done:
                    out.write(f"{entry.name}（{code}）：已有成功入库的批次，跳过。")
                    continue
                path = folder / f"{entry.name}{suffix}"
                out.write(f"{entry.name}（{code}）：生成 {counts[kind]} 行 → {path.name} …")
                if suffix == ".csv":
                    demo.write_csv(table, path, encoding="gbk")
                elif suffix == ".jsonl":
                    demo.write_jsonl(table, path)
                else:
                    demo.write_xlsx(table, path)
                errors = demo.write_corruptions(table.corruptions, folder / f"{entry.name}.故意错误.csv")
                out.write(f"  由 {username}（{actor.unit.name if actor.unit else ''}）归集 …")
                batch = ingest_file(actor, code, path, file_name=path.name, mode="full", progress=None)
                if batch.status != BatchStatus.SUCCEEDED:
                    raise CommandError(f"{entry.name} 归集失败（批次 {batch.pk}）：{batch.error_message}")
                expected = len(table.expected_refused_rows)
                out.write(self.style.SUCCESS(
                    f"  批次 {batch.pk}：读入 {batch.rows_in} 行，入库 {batch.rows_accepted} 行，"
                    f"隔离 {batch.rows_refused} 行（故意制造的错误 {errors} 行，连同被重复主键牵连的行应隔离 {expected} 行）"
                ))
        except DomainError as exc:
            raise CommandError(exc.message) from exc

    def _holders(self, tables: dict[str, Any], licences: int) -> list[Any]:
        """Licence holders: clean rows of the people and legal-person tables (about 60 % people)."""
        from zhengwu.datahub import demo

        people, companies = tables["people"], tables["legal_persons"]
        wanted_people = max(1, min(people.count // 2, licences // 2))
        wanted_companies = max(1, min(companies.count // 2, licences // 3))
        return demo.sample_holders(people, wanted_people) + demo.sample_holders(companies, wanted_companies)
