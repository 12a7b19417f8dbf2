"""/api/v1/directory: units, staff accounts and business roles. Handlers stay thin."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Path, Query, Router, Status

from zhengwu.audit.models import AuditResult
from zhengwu.audit.services import record_event
from zhengwu.core import divisions
from zhengwu.core.errors import DomainError, NotFound
from zhengwu.core.listing import ListOut, listing

from . import queries, services
from .models import RoleGrant, Unit, User
from .schemas import (
    MAX_ID,
    GrantIn,
    GrantOut,
    RoleOut,
    UnitCreateIn,
    UnitFilter,
    UnitOut,
    UnitPatchIn,
    UnitTreeOut,
    UserCreateIn,
    UserFilter,
    UserOut,
    UserPage,
    UserPatchIn,
)

router = Router(tags=["机构与人员"])


def _unit_dict(unit: Unit, staff_count: int | None = None) -> dict[str, Any]:
    division = divisions.get(unit.division_code)
    return {
        "id": unit.pk,
        "name": unit.name,
        "short_name": unit.short_name,
        "parent_id": unit.parent_id,
        "level": unit.level,
        "level_name": unit.get_level_display(),
        "unit_type": unit.unit_type,
        "unit_type_name": unit.get_unit_type_display(),
        "division_code": unit.division_code,
        "division_name": division.name if division else "",
        "stat_division_code": unit.stat_division_code,
        "uscc": unit.uscc,
        "sort_order": unit.sort_order,
        "is_active": unit.is_active,
        "staff_count": staff_count,
    }


def _tree_dict(node: queries.UnitNode) -> dict[str, Any]:
    data = _unit_dict(node.unit, node.staff_count)
    data["children"] = [_tree_dict(child) for child in node.children]
    return data


def _grant_dict(grant: RoleGrant) -> dict[str, Any]:
    return {
        "id": grant.pk,
        "role": grant.role.code,
        "role_name": grant.role.name,
        "unit_id": grant.unit_id,
        "unit_name": grant.unit.name,
        "granted_at": grant.granted_at,
    }


def _user_dict(actor: Any, user: User, grants: list[RoleGrant] | None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": user.pk,
        "full_name": user.full_name,
        "unit_id": user.unit_id,
        "unit_name": user.unit.name if user.unit else None,
    }
    if queries.sees_contact_details(actor):
        data.update(
            username=user.username,
            mobile=user.mobile,
            admin_role=user.admin_role,
            is_active=user.is_active,
            must_change_password=user.must_change_password,
            roles=[_grant_dict(g) for g in grants or []],
        )
    return data


def _unit_or_404(unit_id: int, field: str = "unit_id") -> Unit:
    unit = Unit.objects.filter(pk=unit_id).first()
    if unit is None:
        raise NotFound("单位不存在", field)
    return unit


def _manageable_user(request: HttpRequest, user_id: int) -> User:
    """The target of a write: the services check the permission, this only finds the account."""
    users = User.objects.all() if queries.sees_all_staff(request.user) else queries.staff_for(request.user)
    user = users.select_related("unit").filter(pk=user_id).first()
    if user is None:
        raise NotFound("工作人员不存在")
    return user


# --- units -------------------------------------------------------------------------------------


@router.get("/units", response=ListOut[UnitTreeOut], summary="单位列表（flat）或单位树（tree）")
def list_units(request: HttpRequest, filters: Query[UnitFilter]) -> Any:
    if filters.format == "tree":
        return listing(_tree_dict(root) for root in queries.unit_tree(active_only=filters.active is True))
    units = queries.search_units(
        level=filters.level, parent_id=filters.parent_id, active=filters.active, q=filters.q
    )
    return listing(_unit_dict(u) for u in units)


@router.get("/units/{unit_id}", response=UnitOut, summary="单位详情")
def get_unit(request: HttpRequest, unit_id: int = Path(..., ge=1, le=MAX_ID)) -> Any:
    return _unit_dict(queries.get_unit(unit_id))


@router.post("/units", response={201: UnitOut}, summary="新建单位（系统管理员）")
def create_unit(request: HttpRequest, payload: UnitCreateIn) -> Any:
    data = payload.model_dump()
    parent_id = data.pop("parent_id")
    parent = _unit_or_404(parent_id, "parent_id") if parent_id else None
    unit = services.do_create_unit(request.user, parent=parent, request=request, **data)
    return Status(201, _unit_dict(unit))


@router.patch("/units/{unit_id}", response=UnitOut, summary="修改、移动、停用或启用单位（系统管理员）")
def update_unit(request: HttpRequest, payload: UnitPatchIn, unit_id: int = Path(..., ge=1, le=MAX_ID)) -> Any:
    unit = queries.get_unit(unit_id)
    sent = payload.model_dump(exclude_unset=True)
    is_active = sent.pop("is_active", None)
    move = "parent_id" in sent
    parent_id = sent.pop("parent_id", None)
    for key in (
        "name",
        "level",
        "unit_type",
        "division_code",
        "short_name",
        "stat_division_code",
        "sort_order",
    ):
        if key in sent and sent[key] is None:
            raise DomainError(f"{key}：不能为空", key)
    if sent:
        unit = services.do_update_unit(request.user, unit, request=request, **sent)
    if move:
        parent = _unit_or_404(parent_id, "parent_id") if parent_id else None
        unit = services.do_move_unit(request.user, unit, parent, request=request)
    if is_active is False and unit.is_active:
        unit = services.do_deactivate_unit(request.user, unit, request=request)
    elif is_active is True and not unit.is_active:
        unit = services.do_activate_unit(request.user, unit, request=request)
    return _unit_dict(queries.get_unit(unit.pk))


# --- users -------------------------------------------------------------------------------------


@router.get("/users", response=UserPage, summary="工作人员列表（按权限范围，分页）")
def list_users(request: HttpRequest, filters: Query[UserFilter]) -> Any:
    users = queries.staff_for(
        request.user,
        unit_id=filters.unit_id,
        include_subunits=filters.include_subunits,
        role_code=filters.role,
        active=filters.active,
        q=filters.q,
    )
    count = users.count()
    page = list(users[filters.offset : filters.offset + filters.limit])
    grants = queries.roles_by_user(u.pk for u in page) if queries.sees_contact_details(request.user) else {}
    record_event(
        request.user,
        "directory.user.read",
        object_type="user",
        object_id="list",
        details={"filters": filters.model_dump(), "returned": len(page)},
        request=request,
    )
    return {
        "count": count,
        "limit": filters.limit,
        "offset": filters.offset,
        "items": [_user_dict(request.user, u, grants.get(u.pk, [])) for u in page],
    }


@router.get("/users/{user_id}", response=UserOut, summary="工作人员详情")
def get_user(request: HttpRequest, user_id: int = Path(..., ge=1, le=MAX_ID)) -> Any:
    try:
        user = queries.staff_member_for(request.user, user_id)
    except NotFound as exc:
        record_event(
            request.user,
            "directory.user.read",
            object_type="user",
            object_id=user_id,
            result=AuditResult.FAILURE,
            details={"reason": exc.message},
            request=request,
        )
        raise
    record_event(request.user, "directory.user.read", object_type="user", object_id=user.pk, request=request)
    return _user_dict(request.user, user, queries.user_roles(user))


@router.post("/users", response={201: UserOut}, summary="新建工作人员账号（系统管理员）")
def create_user(request: HttpRequest, payload: UserCreateIn) -> Any:
    unit = _unit_or_404(payload.unit_id)
    user = services.do_create_user(
        request.user,
        username=payload.username,
        full_name=payload.full_name,
        unit=unit,
        mobile=payload.mobile,
        password=payload.password,
        request=request,
    )
    return Status(201, _user_dict(request.user, user, []))


@router.patch("/users/{user_id}", response=UserOut, summary="修改、停用或启用账号（系统管理员）")
def update_user(request: HttpRequest, payload: UserPatchIn, user_id: int = Path(..., ge=1, le=MAX_ID)) -> Any:
    user = _manageable_user(request, user_id)
    sent = payload.model_dump(exclude_unset=True)
    is_active = sent.pop("is_active", None)
    if "full_name" in sent and sent["full_name"] is None:
        raise DomainError("姓名：不能为空", "full_name")
    if "unit_id" in sent and sent["unit_id"] is None:
        raise DomainError("所属单位：不能为空", "unit_id")
    if sent:
        unit = _unit_or_404(sent["unit_id"]) if sent.get("unit_id") else None
        user = services.do_update_user(
            request.user,
            user,
            full_name=sent.get("full_name"),
            unit=unit,
            mobile=sent.get("mobile"),
            request=request,
        )
    if is_active is False and user.is_active:
        user = services.do_disable_user(request.user, user, request=request)
    elif is_active is True and not user.is_active:
        user = services.do_enable_user(request.user, user, request=request)
    return _user_dict(request.user, user, queries.user_roles(user))


# --- roles -------------------------------------------------------------------------------------


@router.get("/roles", response=ListOut[RoleOut], summary="业务角色")
def list_roles(request: HttpRequest) -> Any:
    return listing(queries.business_roles())


@router.post("/users/{user_id}/roles", response={201: GrantOut}, summary="授予业务角色（系统管理员）")
def grant_role(request: HttpRequest, payload: GrantIn, user_id: int = Path(..., ge=1, le=MAX_ID)) -> Any:
    user = _manageable_user(request, user_id)
    role = queries.get_role(payload.role)
    unit = _unit_or_404(payload.unit_id) if payload.unit_id else None
    grant = services.do_grant_role(request.user, user, role, unit, request=request)
    return Status(201, _grant_dict(grant))


@router.delete(
    "/users/{user_id}/roles/{grant_id}", response={204: None}, summary="收回业务角色（系统管理员）"
)
def revoke_role(
    request: HttpRequest,
    user_id: int = Path(..., ge=1, le=MAX_ID),
    grant_id: int = Path(..., ge=1, le=MAX_ID),
) -> Any:
    user = _manageable_user(request, user_id)
    grant = RoleGrant.objects.select_related("role", "unit").filter(pk=grant_id, user=user).first()
    if grant is None:
        raise NotFound("授权不存在")
    services.do_revoke_role(request.user, grant, request=request)
    return Status(204, None)
