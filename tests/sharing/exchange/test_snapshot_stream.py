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
    # the feed's bulk pages: slices of the same order, each read from its start position
    first, named, following = changes.snapshot_slice(view, version, 0, 5)
    assert first == shown[:5] and following is not None and len(named) == 5
    rest, _, end = changes.snapshot_slice(view, version, following, 5)
    assert rest == shown[5:] and end is None
    exact, _, after_exact = changes.snapshot_slice(view, version, 0, 8)
    assert exact == shown and after_exact is None  # nothing in scope follows: no extra empty page


def test_a_scope_with_no_rows_gives_one_empty_page(grant: Any, ingest: Any) -> None:
    from zhengwu.sharing.exchange import changes

    version = ingest(grant.entry.resource_code, [person(30, "441403")])
    view = changes.view_for(grant)
    assert list(changes.snapshot_pages(view, version, 3)) == [(1, [], 0)]
    assert changes.snapshot_count(view, version) == 0


def test_reading_from_a_position_skips_files_and_row_groups_exactly(tmp_path: Any, monkeypatch: Any) -> None:
    """A feed page starts at a raw position: the rows from there on are exactly those of the full
    order, whatever file or row group the position falls in (two files, row groups of 3 rows,
    read batches of 2)."""
    import pyarrow as pa
    import pyarrow.dataset as pads
    import pyarrow.parquet as pq

    from zhengwu.sharing.exchange import changes

    for name, first in (("part-b.parquet", 10), ("part-a.parquet", 0)):  # read by path: a, then b
        numbers = list(range(first, first + (10 if first == 0 else 7)))
        pq.write_table(pa.table({"n": numbers, "t": [f"r{i}" for i in numbers]}), tmp_path / name, row_group_size=3)
    dataset = pads.dataset(str(tmp_path), format="parquet")
    monkeypatch.setattr(changes.lake, "version_dataset", lambda code, version: dataset)
    monkeypatch.setattr(changes, "SNAPSHOT_READ_ROWS", 2)
    everything = [r["n"] for r in changes._ordered_rows("x", 1, ["n", "t"])]
    assert everything == [*range(0, 10), *range(10, 17)]
    for start in range(0, 19):
        got = [(p, r["n"]) for p, r in changes._ordered_rows_from("x", 1, ["n", "t"], start)]
        assert got == list(enumerate(everything))[start:], start


def test_a_bulk_cursor_from_before_positions_starts_the_extract_again(grant: Any, ingest: Any) -> None:
    """A consumer in the middle of a first load when the platform was upgraded holds a cursor with a
    key, not a position: its next page is the extract's first page again (upserts: rows already
    received are written again, none is missed)."""
    from zhengwu.sharing.exchange import queries

    version = ingest(grant.entry.resource_code, ROWS)
    fresh = queries.feed_page(grant, None, 3)
    old = queries._encode(grant, m="bulk", v=version, k=fresh.changes[-1]["key"])
    again = queries.feed_page(grant, old, 3)
    assert again.changes == fresh.changes
    # the same position; the signed cursor's timestamp may differ by a second between the two calls
    assert again.next_cursor.rsplit(":", 2)[0] == fresh.next_cursor.rsplit(":", 2)[0]
