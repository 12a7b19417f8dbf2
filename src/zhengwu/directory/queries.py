"""Reads of the directory, scoped to what the actor may see.

- The unit tree (names, levels, division codes) is visible to every logged-in staff member.
- Staff lists: administrators see every account; the 系统管理员 and 安全管理员 see contact details
  (mobile), the 审计管理员 and business users see names only; a business user sees only the staff
  of their own unit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q, QuerySet

from zhengwu.core import divisions
from zhengwu.core.errors import NotFound, PermissionDenied

from .models import AdminRole, BusinessRole, RoleGrant, Unit, User

FULL_DETAIL_ROLES = {AdminRole.SYSTEM.value, AdminRole.SECURITY.value}


@dataclass
class UnitNode:
    unit: Unit
    staff_count: int
    children: list[UnitNode] = field(default_factory=list)
    depth: int = 0

    @property
    def division_name(self) -> str:
        division = divisions.get(self.unit.division_code)
        return division.name if division else ""

    def walk(self) -> Iterable[UnitNode]:
        yield self
        for child in self.children:
            yield from child.walk()


def _units_with_staff_count(active_only: bool) -> QuerySet[Unit]:
    units = Unit.objects.annotate(
        active_staff=Count("staff", filter=Q(staff__is_active=True), distinct=True)
    ).order_by("sort_order", "id")
    if active_only:
        units = units.filter(is_active=True)
    return units


def unit_tree(*, active_only: bool = False) -> list[UnitNode]:
    """The whole unit forest, built in Python from one query (with active staff counts)."""
    nodes: dict[int, UnitNode] = {}
    order: list[UnitNode] = []
    for unit in _units_with_staff_count(active_only):
        node = UnitNode(unit=unit, staff_count=unit.active_staff)  # type: ignore[attr-defined]
        nodes[unit.pk] = node
        order.append(node)
    roots: list[UnitNode] = []
    for node in order:
        parent = nodes.get(node.unit.parent_id) if node.unit.parent_id else None
        if parent is None:
            roots.append(node)  # a root, or an active unit under an inactive parent when filtering
        else:
            parent.children.append(node)
            node.unit.parent = parent.unit  # avoid a query per node for ancestors/breadcrumbs

    def set_depth(node: UnitNode, depth: int) -> None:
        node.depth = depth
        for child in node.children:
            set_depth(child, depth + 1)

    for root in roots:
        set_depth(root, 0)
    return roots


def flat_tree(*, active_only: bool = False) -> list[UnitNode]:
    """The tree in display order (depth-first), e.g. for select boxes."""
    return [node for root in unit_tree(active_only=active_only) for node in root.walk()]


def descendant_ids(unit: Unit | int, *, include_self: bool = True) -> set[int]:
    root_id = unit if isinstance(unit, int) else unit.pk
    by_parent: dict[int | None, list[int]] = {}
    for pk, parent_id in Unit.objects.values_list("pk", "parent_id"):
        by_parent.setdefault(parent_id, []).append(pk)
    result: set[int] = {root_id} if include_self else set()
    stack = [root_id]
    while stack:
        for child in by_parent.get(stack.pop(), []):
            if child not in result:
                result.add(child)
                stack.append(child)
    return result


def descendants(unit: Unit, *, include_self: bool = False) -> QuerySet[Unit]:
    return Unit.objects.filter(pk__in=descendant_ids(unit, include_self=include_self))


def get_unit(unit_id: int) -> Unit:
    unit = Unit.objects.select_related("parent").filter(pk=unit_id).first()
    if unit is None:
        raise NotFound("单位不存在")
    return unit


def search_units(
    *,
    level: str | None = None,
    parent_id: int | None = None,
    active: bool | None = None,
    q: str | None = None,
) -> QuerySet[Unit]:
    units = Unit.objects.select_related("parent").order_by("sort_order", "id")
    if level:
        units = units.filter(level=level)
    if parent_id is not None:
        units = units.filter(parent_id=parent_id)
    if active is not None:
        units = units.filter(is_active=active)
    if q:
        units = units.filter(
            Q(name__icontains=q) | Q(short_name__icontains=q) | Q(division_code__startswith=q)
        )
    return units


# --- staff -------------------------------------------------------------------------------------


def is_logged_in(actor: Any) -> bool:
    return bool(getattr(actor, "is_authenticated", False) and actor.is_active)


def sees_contact_details(actor: Any) -> bool:
    return is_logged_in(actor) and actor.admin_role in FULL_DETAIL_ROLES


def sees_all_staff(actor: Any) -> bool:
    return is_logged_in(actor) and bool(actor.admin_role)


def staff_for(
    actor: Any,
    *,
    unit_id: int | None = None,
    include_subunits: bool = False,
    role_code: str | None = None,
    active: bool | None = None,
    q: str | None = None,
) -> QuerySet[User]:
    """Staff accounts the actor may see, filtered. Business users: their own unit only."""
    if not is_logged_in(actor):
        raise PermissionDenied("请先登录")
    users = User.objects.select_related("unit").order_by("unit__sort_order", "unit_id", "username")
    if not sees_all_staff(actor):
        if actor.unit_id is None:
            return users.none()
        users = users.filter(unit_id=actor.unit_id)
    if unit_id is not None:
        if include_subunits:
            users = users.filter(unit_id__in=descendant_ids(unit_id))
        else:
            users = users.filter(unit_id=unit_id)
    if role_code:
        if role_code in AdminRole.values:
            users = users.filter(admin_role=role_code)
        else:
            users = users.filter(role_grants__role__code=role_code).distinct()
    if active is not None:
        users = users.filter(is_active=active)
    if q:
        users = users.filter(Q(username__icontains=q) | Q(full_name__icontains=q))
    return users


def staff_member_for(actor: Any, user_id: int) -> User:
    user = staff_for(actor).filter(pk=user_id).first()
    if user is None:
        raise NotFound("工作人员不存在或无权查看")
    return user


def user_roles(user: User) -> list[RoleGrant]:
    return list(
        user.role_grants.select_related("role", "unit").order_by("role__app_label", "role__code", "unit_id")
    )


def roles_by_user(user_ids: Iterable[int]) -> dict[int, list[RoleGrant]]:
    result: dict[int, list[RoleGrant]] = {}
    for grant in RoleGrant.objects.filter(user_id__in=list(user_ids)).select_related("role", "unit"):
        result.setdefault(grant.user_id, []).append(grant)
    return result


def business_roles() -> QuerySet[BusinessRole]:
    return BusinessRole.objects.order_by("app_label", "code")


def get_role(code: str) -> BusinessRole:
    role = BusinessRole.objects.filter(code=code).first()
    if role is None:
        raise NotFound(f"业务角色不存在：{code[:50]}", "role")
    return role


def user_holds_role(user: User, role_code: str, unit: Unit | None = None) -> bool:
    grants = RoleGrant.objects.filter(user=user, role__code=role_code)
    if unit is not None:
        grants = grants.filter(unit=unit)
    return grants.exists()
