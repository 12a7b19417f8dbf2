"""`zhengwu rebuild_catalog_index`: index every live catalog entry again."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction


class Command(BaseCommand):
    help = "重建目录检索索引：按各条目最新发布版本和提供单位的现名称、简称重新建立（单位更名后运行）。"

    def handle(self, *args: Any, **options: Any) -> None:
        from zhengwu.audit.services import record_event
        from zhengwu.catalog.search import reindex_live_entries

        with transaction.atomic():
            count = reindex_live_entries()
            record_event(None, "catalog.index.rebuild", object_type="catalog_entry", object_id="index",
                         details={"entries": count})
        self.stdout.write(f"目录检索索引已重建：{count} 条在用目录。")
