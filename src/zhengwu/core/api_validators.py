"""Code validators and the division table over HTTP, mounted at /api/v1/validators.

A check answers 200 with `ok` false and a Chinese `reason` for an invalid value; only malformed
requests (missing field, not text, too long) are refused with 422.
"""

from __future__ import annotations

from dataclasses import asdict

from django.http import HttpRequest
from ninja import Path, Query, Router

from . import divisions
from .errors import NotFound
from .schemas import (
    CheckOut,
    DivisionCheckOut,
    DivisionDetailOut,
    DivisionListOut,
    DivisionOut,
    ResidentIdOut,
    UsccOut,
    ValueIn,
)
from .validators import check_division_code, check_mobile, check_resident_id, check_uscc

router = Router(tags=["校验与行政区划"])

MAX_LIST_LIMIT = 200


def _division_out(division: divisions.Division) -> DivisionOut:
    return DivisionOut(
        code=division.code,
        name=division.name,
        level=division.level,
        level_name=division.level_name,
        parent_code=division.parent_code,
        full_name=division.full_name,
    )


@router.post("/resident-id", response=ResidentIdOut, summary="校验公民身份号码（GB 11643）")
def validate_resident_id(request: HttpRequest, payload: ValueIn) -> ResidentIdOut:
    return ResidentIdOut(**asdict(check_resident_id(payload.value)))


@router.post("/uscc", response=UsccOut, summary="校验统一社会信用代码（GB 32100）")
def validate_uscc(request: HttpRequest, payload: ValueIn) -> UsccOut:
    return UsccOut(**asdict(check_uscc(payload.value)))


@router.post("/division-code", response=DivisionCheckOut, summary="校验行政区划代码（GB/T 2260）")
def validate_division_code(request: HttpRequest, payload: ValueIn) -> DivisionCheckOut:
    return DivisionCheckOut(**asdict(check_division_code(payload.value)))


@router.post("/mobile", response=CheckOut, summary="校验中国大陆手机号码")
def validate_mobile(request: HttpRequest, payload: ValueIn) -> CheckOut:
    return CheckOut(**asdict(check_mobile(payload.value)))


@router.get("/divisions", response=DivisionListOut, summary="查询行政区划")
def list_divisions(
    request: HttpRequest,
    q: str = Query("", max_length=50, title="查找内容", description="按代码前缀或名称查找"),
    parent: str = Query("", max_length=6, title="上级区划代码", description="只列出该代码的直接下级；与 q 同时给出时在下级中查找"),
    limit: int = Query(50, ge=1, le=MAX_LIST_LIMIT, description=f"最多返回条数（1—{MAX_LIST_LIMIT}）"),
) -> DivisionListOut:
    """Without `q` or `parent`: the provinces. With `parent`: its direct children. With `q`: codes
    starting with `q` or names containing it (within `parent`'s children when both are given)."""
    q, parent = q.strip(), parent.strip()
    if parent:
        if divisions.get(parent) is None:
            raise NotFound(f"上级行政区划代码 {parent} 不存在", field="parent")
        candidates = divisions.children(parent)
    elif q:
        candidates = divisions.search(q, limit=limit + 1)
    else:
        candidates = sorted(
            (d for d in divisions.table().values() if d.parent_code is None), key=lambda d: d.code
        )
    if q:
        candidates = [d for d in candidates if d.code.startswith(q) or q in d.name]
    items = [_division_out(d) for d in candidates[:limit]]
    return DivisionListOut(items=items, count=len(items), truncated=len(candidates) > limit)


@router.get("/divisions/{code}", response=DivisionDetailOut, summary="行政区划详情")
def get_division(
    request: HttpRequest,
    code: str = Path(..., max_length=12, title="行政区划代码", description="6 位行政区划代码"),
) -> DivisionDetailOut:
    check = check_division_code(code)
    division = divisions.get(check.normalized) if check.ok else None
    if division is None:
        if check.ok:  # a township / village code: valid shape, but no names are shipped for it
            message = f"行政区划代码 {check.normalized} 格式有效，但没有乡级、村级区划的名称数据"
        else:
            message = check.reason.replace("不是已知的行政区划代码", "不存在")
        raise NotFound(message, field="code")
    base = _division_out(division)
    return DivisionDetailOut(
        **base.model_dump(),
        ancestors=[_division_out(d) for d in divisions.ancestors(division.code)],
        children=[_division_out(d) for d in divisions.children(division.code)],
    )
