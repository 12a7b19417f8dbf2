"""A first load / resync streams the version from the lake a page at a time (changes.snapshot_pages):
every row in scope exactly once, as the consumer must hold it, in the same pages every time (a
retried page rebuilt from page N has the same rows), never the whole version in memory."""

from __future__ import annotations

from typing import Any

from .conftest import expected_copy, person

ROWS = [person(n) for n in range(1, 9)] + [person(20, "441403"), person(21, "441403")]


def test_pages_cover_the_scope_once_and_are_the_same_every_time(grant: Any, ingest: Any) -> None:
    from zhengwu.sharing.exchange import changes

    version = ingest(grant.entry.resource_code, ROWS)
    view = changes.view_for(grant)
    pages = list(changes.snapshot_pages(view, version, 3))
    assert [(n, c) for n, _, c in pages] == [(1, 3), (2, 3), (3, 2)]  # 梅江区's 8 people; 梅县区 out of scope
    shown = [r for _, rows, _ in pages for r in rows or ()]
    copy = {r["_zw_key"]: {k: v for k, v in r.items() if k != "_zw_key"} for r in shown}
    assert len(shown) == len(copy) == 8 == changes.snapshot_count(view, version)
    assert copy == expected_copy(grant, version)
    again = list(changes.snapshot_pages(view, version, 3, first_page=2))
    assert [(n, rows is None, c) for n, rows, c in again] == [(1, True, 3), (2, False, 3), (3, False, 2)]
    assert again[1][1] == pages[1][1] and again[2][1] == pages[2][1]  # a retried page: the same rows
    assert changes.snapshot(view, version) == sorted(shown, key=lambda r: r["_zw_key"])


def test_a_scope_with_no_rows_gives_one_empty_page(grant: Any, ingest: Any) -> None:
    from zhengwu.sharing.exchange import changes

    version = ingest(grant.entry.resource_code, [person(30, "441403")])
    view = changes.view_for(grant)
    assert list(changes.snapshot_pages(view, version, 3)) == [(1, [], 0)]
    assert changes.snapshot_count(view, version) == 0
