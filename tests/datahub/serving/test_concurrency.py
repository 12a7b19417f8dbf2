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


def test_two_refreshes_at_once_build_once(tmp_path: Path, publish: Any, data_admin: Any, ingest: Any) -> None:
    assert connection.vendor == "postgresql"
    entry = publish(data_admin)
    code = entry.resource_code
    ingest(entry, [person(i) for i in range(1, 3001)])
    start = threading.Barrier(2)
    results: list[Any] = []
    threads = [_in_thread(lambda: services.do_refresh_served(code), results, start) for _ in range(2)]
    for thread in threads:
        thread.join(120)
    assert all(isinstance(r, services.RefreshResult) for r in results), results
    modes = sorted(r.mode for r in results)
    assert modes in (["coalesced", "full"], ["current", "full"]), modes
    assert ServedTable.objects.filter(resource_code=code).count() == 1
    assert ServedTable.objects.get(resource_code=code).state == TableState.LIVE
    assert AuditRecord.objects.filter(action="serving.refresh", object_id=code).count() == 1
    assert queries.count(code) == 3000


def test_a_reader_through_a_rebuild_and_a_patch_sees_whole_versions(
    tmp_path: Path, publish: Any, data_admin: Any, ingest: Any, settings: Any,
) -> None:
    settings.SERVING_GRACE_SECONDS = 0  # the old table is dropped at once: readers must retry on the new one
    entry = publish(data_admin)
    code = entry.resource_code
    ingest(entry, [person(i) for i in range(1, 2001)])
    services.do_refresh_served(code)
    names = {0: {person(i)["person_name"] for i in range(1, 2001)}}
    ingest(entry, [person(i, person_name=f"新{i}") for i in range(1, 2001)])  # v1: every row (rebuild)
    names[1] = {f"新{i}" for i in range(1, 2001)}
    names[2] = names[1] - {f"新{i}" for i in range(1, 101)} | {f"再{i}" for i in range(1, 101)}
    stop = threading.Event()
    seen: list[Any] = []

    def read() -> int:
        pages = 0
        while not stop.is_set() or pages < 3:
            page = queries.query(code, columns=["id_no", "person_name"], limit=5000)
            got = {r["person_name"] for r in page.rows}
            assert len(page.rows) == 2000, len(page.rows)
            seen.append((page.lake_version, got == names.get(page.lake_version)))
            pages += 1
        return pages

    out: list[Any] = []
    reader = _in_thread(read, out)
    rebuilt = services.do_refresh_served(code)
    ingest(entry, [person(i, person_name=f"再{i}") for i in range(1, 101)])  # v2: 100 rows (patched)
    patched = services.do_refresh_served(code)
    stop.set()
    reader.join(120)
    assert (rebuilt.mode, patched.mode) == ("full", "incremental")
    assert out and not isinstance(out[0], BaseException), out
    assert seen and all(whole for _, whole in seen), [s for s in seen if not s[1]][:3]
    assert seen[-1][0] == 2
