"""The serving store under real concurrency (PostgreSQL, separate connections in threads): two
refreshes at once make one build; a reader running through a rebuild and a patch always sees one
whole version, labelled with that version."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from django.db import connection, connections

from zhengwu.audit.models import AuditRecord
from zhengwu.datahub.serving import queries, services
from zhengwu.datahub.serving.models import ServedTable, TableState

from ..conftest import person

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif("connection.vendor != 'postgresql'", reason="threads with their own connections: PostgreSQL"),
]


def _in_thread(work: Any, out: list[Any], start: threading.Barrier | None = None) -> threading.Thread:
    def run() -> None:
        try:
            if start is not None:
                start.wait()
            out.append(work())
        except Exception as exc:  # reported to the test
            out.append(exc)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def _modes(code: str) -> list[str]:
    return [r.details["mode"] for r in AuditRecord.objects.filter(action="serving.refresh", object_id=code).order_by("id")]


def test_two_refreshes_at_once_build_once(tmp_path: Path, publish: Any, data_admin: Any, ingest: Any) -> None:
    assert connection.vendor == "postgresql"
    entry = publish(data_admin)
    code = entry.resource_code
    ingest(entry, [person(i) for i in range(1, 901)])  # committed: the listener's task built it
    assert _modes(code) == ["full"]
    start = threading.Barrier(2)
    results: list[Any] = []
    threads = [_in_thread(lambda: services.do_refresh_served(code, full=True), results, start) for _ in range(2)]
    for thread in threads:
        thread.join(120)
    assert all(isinstance(r, services.RefreshResult) for r in results), results
    modes = sorted(r.mode for r in results)
    # Overlapping requests coalesce (the usual case); requests that happened not to overlap rebuild twice.
    assert modes in (["coalesced", "full"], ["full", "full"]), modes
    assert _modes(code) == ["full"] * (1 + modes.count("full"))
    assert ServedTable.objects.filter(resource_code=code, state=TableState.LIVE).count() == 1
    assert not ServedTable.objects.filter(resource_code=code, state=TableState.BUILDING).exists()
    assert queries.count(code) == 900


def test_a_reader_through_a_rebuild_and_a_patch_sees_whole_versions(
    tmp_path: Path, publish: Any, data_admin: Any, ingest: Any, settings: Any,
) -> None:
    settings.SERVING_GRACE_SECONDS = 0  # the old table is dropped at once: readers must retry on the new one
    entry = publish(data_admin)
    code = entry.resource_code
    ingest(entry, [person(i) for i in range(1, 901)])  # committed: the listener's task builds v0
    names = {0: {person(i)["person_name"] for i in range(1, 901)}}
    names[1] = {f"新{i}" for i in range(1, 901)}
    names[2] = names[1] - {f"新{i}" for i in range(1, 101)} | {f"再{i}" for i in range(1, 101)}
    stop = threading.Event()
    seen: list[Any] = []

    def read() -> int:
        pages = 0
        while not stop.is_set() or pages < 3:
            page = queries.query(code, columns=["id_no", "person_name"], limit=5000)
            got = {r["person_name"] for r in page.rows}
            assert len(page.rows) == 900, len(page.rows)
            seen.append((page.lake_version, got == names.get(page.lake_version)))
            one = queries.lookup(code, {"id_no": person(1)["id_no"]}, columns=["person_name"])
            assert one is not None and one["person_name"] in {person(1)["person_name"], "新1", "再1"}
            pages += 1
        return pages

    out: list[Any] = []
    reader = _in_thread(read, out)
    ingest(entry, [person(i, person_name=f"新{i}") for i in range(1, 901)])  # v1: every row → rebuilt
    ingest(entry, [person(i, person_name=f"再{i}") for i in range(1, 101)])  # v2: 100 rows → patched
    stop.set()
    reader.join(120)
    assert _modes(code) == ["full", "full", "incremental"]
    assert out and not isinstance(out[0], BaseException), out
    assert seen and all(whole for _, whole in seen), [s for s in seen if not s[1]][:3]
    assert seen[-1][0] == 2 and queries.served(code).lake_version == 2  # type: ignore[union-attr]
