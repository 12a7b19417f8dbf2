"""The one envelope of every list the API answers: {"count", "items"} (paged lists add
"limit" and "offset"; docs/api.md). `ListOut[ItemSchema]` is the response schema of a whole,
unpaged collection; `listing(items)` builds its answer."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Generic, TypeVar

from ninja import Schema
from pydantic import Field

T = TypeVar("T")


class ListOut(Schema, Generic[T]):
    count: int = Field(..., description="条数")
    items: list[T]


def listing(items: Iterable[Any]) -> dict[str, Any]:
    rows = list(items)
    return {"count": len(rows), "items": rows}
