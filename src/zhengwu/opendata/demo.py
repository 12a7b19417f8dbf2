"""The demo city's open data: every published 无条件开放 / 有条件开放 table resource of the demo
catalog gets generated rows collected into the lake through the real ingest path (datahub's
`ingest_file`, by the data authority's 数据管理员 `dsj_data`, who may collect on behalf of any
unit), so each open dataset has a real lake version, preview and downloads.

The rows are GENERATED (datahub/demo.py's schema-driven generator, seeded, without deliberate
errors), not real. Nothing else is invented: no download counts, reuses or discussions — those
come from use. Idempotent: a resource that already has a recorded data version is left alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings

from zhengwu.audit.services import record_event
from zhengwu.core.errors import DomainError

from .queries import OPEN_TYPES

COLLECTOR = "dsj_data"
BASE_NAMES = ("市场主体登记信息", "地名地址信息")  # collected by load_demo_data with their own generator


@dataclass
class DemoReport:
    loaded: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def _rows_for(code: str) -> int:
    """Between 300 and 2,400 rows, fixed per resource code (the same on every run)."""
    return 300 + (sum(map(ord, code)) * 37) % 2100


def _kind(schema: Any) -> str:
    from zhengwu.datahub import demo

    names = {c.field_name for c in schema.columns}
    if "id_no" in names:
        return demo.PEOPLE
    if names & {"longitude", "latitude"}:
        return demo.ADDRESSES
    return demo.LEGAL_PERSONS


def load_demo_opendata(seed: int = 2026) -> DemoReport:
    from zhengwu.catalog.models import CatalogEntry
    from zhengwu.datahub import demo
    from zhengwu.datahub.models import ResourceVersion
    from zhengwu.datahub.schema import schema_for
    from zhengwu.datahub.services import ingest_file
    from zhengwu.directory.models import User

    actor = User.objects.filter(username=COLLECTOR, is_active=True).first()
    if actor is None:
        raise DomainError(f"演示城市尚未创建（找不到演示账号 {COLLECTOR}）：请先运行 zhengwu load_demo_city", "city")
    entries = list(
        CatalogEntry.objects.filter(is_live=True, published_version__gt=0, open_type__in=OPEN_TYPES, items__isnull=False)
        .distinct().select_related("provider").order_by("resource_code")
    )
    if not entries:
        raise DomainError("演示目录尚未载入（没有已发布的开放目录条目）：请先运行 zhengwu load_demo_catalog", "catalog")
    folder = Path(settings.DATA_DIR) / "demo" / "opendata"
    folder.mkdir(parents=True, exist_ok=True)
    report = DemoReport()
    for entry in entries:
        code = entry.resource_code
        if ResourceVersion.objects.filter(resource_code=code, undone=False).exists():
            report.existing.append(entry.name)
            continue
        if entry.name in BASE_NAMES:
            report.skipped.append(f"{entry.name}（由 load_demo_data 归集）")
            continue
        schema = schema_for(code)
        table = demo.demo_rows(schema, _rows_for(code), kind=_kind(schema), seed=seed, error_rate=0.0)
        path = folder / f"{code.replace('/', '-')}.csv"
        demo.write_csv(table, path, encoding="utf-8")
        batch = ingest_file(actor, code, path, file_name=f"{entry.name}.csv", mode="full")
        if batch.status != "succeeded" or not batch.rows_accepted:
            report.skipped.append(f"{entry.name}（批次 {batch.pk}：{batch.error_message or '没有入库的行'}）")
            continue
        report.loaded.append(f"{entry.name}：{batch.rows_accepted} 行")
    record_event(actor, "opendata.demo.load", object_type="opendata_application", object_id="demo",
                 details={"loaded": len(report.loaded), "existing": len(report.existing), "skipped": len(report.skipped)})
    return report
