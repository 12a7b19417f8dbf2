"""State changes of the directory: units, staff accounts, business roles, administrator roles.

Every `do_*` function checks the actor's permission, writes in one transaction and appends its
audit record in that same transaction. A refused attempt (any DomainError) changes nothing and is
itself audited with result=failure and the reason, so that the log shows who tried what.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils import timezone

from zhengwu.audit.services import audited_attempt, record_event
from zhengwu.core.errors import Conflict, DomainError, PermissionDenied

from . import rules
from .models import AccountKind, AdminRole, BusinessRole, RoleGrant, Unit, UnitType, User
from .permissions import ensure_admin

UNIT_FIELDS = (
    "name",
    "short_name",
    "level",
    "unit_type",
    "division_code",
    "stat_division_code",
    "uscc",
    "sort_order",
)
USER_FIELDS = ("full_name", "unit", "mobile")


def _attempt(
    actor: Any,
    action: str,
    object_type: str,
    object_id: Any = "",
    request: HttpRequest | None = None,
    details: dict[str, Any] | None = None,
) -> AbstractContextManager[None]:
    """audit.services.audited_attempt: one transaction, a refusal audited and re-raised."""
    return audited_attempt(actor, action, object_type=object_type, object_id=object_id, request=request, details=details)


def _actor_id(actor: Any) -> Any:
    return getattr(actor, "pk", None)


# --- units -----------------------------------------------------------------------------------


def _unit_snapshot(unit: Unit) -> dict[str, Any]:
    data: dict[str, Any] = {name: getattr(unit, name) for name in UNIT_FIELDS}
    data["parent_id"] = unit.parent_id
    return data


def is_within(unit: Unit, ancestor: Unit) -> bool:
    """True when `unit` is `ancestor` or lies below it."""
    if unit.pk == ancestor.pk:
        return True
    return any(node.pk == ancestor.pk for node in unit.ancestors())


def _check_name_free(name: str, parent: Unit | None, exclude_pk: int | None = None) -> None:
    siblings = Unit.objects.filter(parent=parent, name=name)
    if exclude_pk is not None:
        siblings = siblings.exclude(pk=exclude_pk)
    if siblings.exists():
        raise Conflict("单位名称：同一上级单位下已有同名单位", "name")


def _check_uscc_free(uscc: str | None, exclude_pk: int | None = None) -> None:
    if not uscc:
        return
    others = Unit.objects.filter(uscc=uscc)
    if exclude_pk is not None:
        others = others.exclude(pk=exclude_pk)
    if others.exists():
        raise Conflict("统一社会信用代码：已被其他单位使用", "uscc")


def clean_unit_values(values: dict[str, Any], parent: Unit | None) -> dict[str, Any]:
    """Check one unit's values against the rules and its parent; return them normalised."""
    cleaned = dict(values)
    cleaned["name"] = rules.check_text(values.get("name"), "单位名称", "name", 100)
    cleaned["short_name"] = rules.check_text(
        values.get("short_name"), "简称", "short_name", 50, required=False
    )
    level = rules.check_level(values.get("level") or "")
    if values.get("unit_type") not in UnitType.values:
        raise DomainError("单位类型：取值无效", "unit_type")
    rules.check_level_under(level, parent.level if parent else None)
    cleaned["division_code"] = rules.check_division_code(
        values.get("division_code") or "", level, parent.division_code if parent else None
    )
    parent_stat = parent.stat_division_code if parent is not None and parent.level != level else ""
    cleaned["stat_division_code"] = rules.check_stat_division_code(
        values.get("stat_division_code") or "", level, cleaned["division_code"], parent_stat
    )
    cleaned["uscc"] = rules.check_uscc(values.get("uscc"))
    sort_order = values.get("sort_order") or 0
    if not isinstance(sort_order, int) or isinstance(sort_order, bool) or not 0 <= sort_order <= 1_000_000:
        raise DomainError("排序：必须是 0 到 1000000 之间的整数", "sort_order")
    cleaned["sort_order"] = sort_order
    return cleaned


def _check_children_fit(unit: Unit, level: str, division_code: str) -> None:
    for child in unit.children.all():
        if rules.LEVEL_RANK[rules.UnitLevel(child.level)] < rules.LEVEL_RANK[rules.UnitLevel(level)]:
            raise DomainError(
                f"行政层级：下级单位“{child.name}”的层级（{rules.level_label(child.level)}）"
                f"高于{rules.level_label(level)}，不能这样修改",
                "level",
            )
        if not rules.division_within(child.division_code, division_code):
            raise DomainError(
                f"行政区划代码：下级单位“{child.name}”的区划 {child.division_code} 不在 {division_code} 范围内",
                "division_code",
            )


def do_create_unit(
    actor: Any,
    *,
    name: str,
    level: str,
    unit_type: str,
    division_code: str,
    parent: Unit | None = None,
    short_name: str = "",
    stat_division_code: str = "",
    uscc: str | None = None,
    sort_order: int = 0,
    request: HttpRequest | None = None,
) -> Unit:
    values = {
        "name": name,
        "short_name": short_name,
        "level": level,
        "unit_type": unit_type,
        "division_code": division_code,
        "stat_division_code": stat_division_code,
        "uscc": uscc,
        "sort_order": sort_order,
    }
    attempt = {"name": str(name)[:100], "parent_id": parent.pk if parent else None}
    with _attempt(actor, "directory.unit.create", "unit", "", request, attempt):
        ensure_admin(actor, AdminRole.SYSTEM)
        if parent is not None:
            parent = Unit.objects.select_for_update().get(pk=parent.pk)
            if not parent.is_active:
                raise DomainError("上级单位：已停用，不能在其下新建单位", "parent")
        cleaned = clean_unit_values(values, parent)
        _check_name_free(cleaned["name"], parent)
        _check_uscc_free(cleaned["uscc"])
        unit = Unit.objects.create(parent=parent, **cleaned)
        record_event(
            actor,
            "directory.unit.create",
            object_type="unit",
            object_id=unit.pk,
            details=_unit_snapshot(unit),
            request=request,
        )
    return unit


def do_update_unit(actor: Any, unit: Unit, *, request: HttpRequest | None = None, **changes: Any) -> Unit:
    """Change a unit's own fields (not its parent: see do_move_unit)."""
    unknown = set(changes) - set(UNIT_FIELDS)
    if unknown:
        raise DomainError(f"不能修改的字段：{'、'.join(sorted(unknown))}", sorted(unknown)[0])
    with _attempt(actor, "directory.unit.update", "unit", unit.pk, request):
        ensure_admin(actor, AdminRole.SYSTEM)
        current = Unit.objects.select_for_update().get(pk=unit.pk)
        before = _unit_snapshot(current)
        values = {name: getattr(current, name) for name in UNIT_FIELDS}
        values.update(changes)
        cleaned = clean_unit_values(values, current.parent)
        if cleaned["name"] != current.name:
            _check_name_free(cleaned["name"], current.parent, current.pk)
        _check_uscc_free(cleaned["uscc"], current.pk)
        _check_children_fit(current, cleaned["level"], cleaned["division_code"])
        diff = {k: [before[k], v] for k, v in cleaned.items() if before[k] != v}
        for key, value in cleaned.items():
            setattr(current, key, value)
        if diff:
            current.save()
            record_event(
                actor,
                "directory.unit.update",
                object_type="unit",
                object_id=current.pk,
                details={"changes": diff},
                request=request,
            )
    return current


def do_move_unit(
    actor: Any, unit: Unit, new_parent: Unit | None, *, request: HttpRequest | None = None
) -> Unit:
    details = {"new_parent_id": new_parent.pk if new_parent else None}
    with _attempt(actor, "directory.unit.move", "unit", unit.pk, request, details):
        ensure_admin(actor, AdminRole.SYSTEM)
        current = Unit.objects.select_for_update().get(pk=unit.pk)
        old_parent_id = current.parent_id
        if new_parent is not None:
            new_parent = Unit.objects.get(pk=new_parent.pk)
            if is_within(new_parent, current):
                raise DomainError("上级单位：不能移动到本单位或其下级单位之下", "parent")
            if not new_parent.is_active:
                raise DomainError("上级单位：已停用，不能移入", "parent")
        values = {name: getattr(current, name) for name in UNIT_FIELDS}
        clean_unit_values(values, new_parent)
        _check_name_free(current.name, new_parent, current.pk)
        if old_parent_id == (new_parent.pk if new_parent else None):
            return current
        current.parent = new_parent
        current.save(update_fields=["parent", "updated_at"])
        record_event(
            actor,
            "directory.unit.move",
            object_type="unit",
            object_id=current.pk,
            details={"from_parent_id": old_parent_id, "to_parent_id": current.parent_id},
            request=request,
        )
    return current


def do_deactivate_unit(actor: Any, unit: Unit, *, request: HttpRequest | None = None) -> Unit:
    with _attempt(actor, "directory.unit.deactivate", "unit", unit.pk, request):
        ensure_admin(actor, AdminRole.SYSTEM)
        current = Unit.objects.select_for_update().get(pk=unit.pk)
        if not current.is_active:
            raise Conflict("该单位已停用")
        staff = current.staff.filter(is_active=True).count()
        if staff:
            raise Conflict(f"该单位仍有 {staff} 名在用工作人员，请先调出或停用其账号后再停用单位")
        children = current.children.filter(is_active=True).count()
        if children:
            raise Conflict(f"该单位仍有 {children} 个在用下级单位，请先停用或移走下级单位")
        current.is_active = False
        current.save(update_fields=["is_active", "updated_at"])
        record_event(
            actor,
            "directory.unit.deactivate",
            object_type="unit",
            object_id=current.pk,
            details={"name": current.name},
            request=request,
        )
    return current


def do_activate_unit(actor: Any, unit: Unit, *, request: HttpRequest | None = None) -> Unit:
    with _attempt(actor, "directory.unit.activate", "unit", unit.pk, request):
        ensure_admin(actor, AdminRole.SYSTEM)
        current = Unit.objects.select_for_update().get(pk=unit.pk)
        if current.is_active:
            raise Conflict("该单位已是启用状态")
        if current.parent is not None and not current.parent.is_active:
            raise DomainError("上级单位已停用，请先启用上级单位", "parent")
        current.is_active = True
        current.save(update_fields=["is_active", "updated_at"])
        record_event(
            actor,
            "directory.unit.activate",
            object_type="unit",
            object_id=current.pk,
            details={"name": current.name},
            request=request,
        )
    return current


# --- users -----------------------------------------------------------------------------------


def _check_password(raw: str, user: User, label: str = "密码") -> None:
    if not raw:
        raise DomainError(f"{label}：必须填写", "password")
    if len(raw) > 128:
        raise DomainError(f"{label}：长度不能超过 128 个字符", "password")
    try:
        validate_password(raw, user)
    except ValidationError as exc:
        raise DomainError(f"{label}：{'；'.join(exc.messages)}", "password") from exc


def _set_admin_chosen_password(user: User, raw: str) -> None:
    user.set_password(raw)
    user.password_changed_at = timezone.now()
    user.must_change_password = True


def _check_unit_usable(unit: Unit | None) -> Unit:
    if unit is None:
        raise DomainError("所属单位：必须选择", "unit")
    if not unit.is_active:
        raise DomainError("所属单位：该单位已停用", "unit")
    return unit


def _user_snapshot(user: User) -> dict[str, Any]:
    return {
        "username": user.username,
        "full_name": user.full_name,
        "unit_id": user.unit_id,
        "mobile_set": bool(user.mobile),
        "is_active": user.is_active,
    }


def do_create_user(
    actor: Any,
    *,
    username: str,
    full_name: str,
    unit: Unit | None,
    password: str,
    mobile: str = "",
    request: HttpRequest | None = None,
) -> User:
    attempt = {"username": str(username)[:64]}
    with _attempt(actor, "directory.user.create", "user", "", request, attempt):
        ensure_admin(actor, AdminRole.SYSTEM)
        username = rules.check_username(username)
        full_name = rules.check_text(full_name, "姓名", "full_name", 50)
        unit = _check_unit_usable(unit)
        mobile = rules.check_mobile(mobile)
        if User.objects.filter(username__iexact=username).exists():
            raise Conflict("用户名：已被使用（不区分大小写）", "username")
        user = User(username=username, full_name=full_name, unit=unit, mobile=mobile)
        _check_password(password, user, "初始密码")
        _set_admin_chosen_password(user, password)
        user.save()
        record_event(
            actor,
            "directory.user.create",
            object_type="user",
            object_id=user.pk,
            details=_user_snapshot(user),
            request=request,
        )
    return user


def do_update_user(
    actor: Any,
    user: User,
    *,
    full_name: str | None = None,
    unit: Unit | None = None,
    mobile: str | None = None,
    request: HttpRequest | None = None,
) -> User:
    """Change name, unit or mobile. The admin role is never changed here (operator command only)."""
    with _attempt(actor, "directory.user.update", "user", user.pk, request):
        ensure_admin(actor, AdminRole.SYSTEM)
        current = User.objects.select_for_update().get(pk=user.pk)
        changes: dict[str, list[Any]] = {}
        if full_name is not None:
            full_name = rules.check_text(full_name, "姓名", "full_name", 50)
            if full_name != current.full_name:
                changes["full_name"] = [current.full_name, full_name]
                current.full_name = full_name
        if mobile is not None:
            mobile = rules.check_mobile(mobile)
            if mobile != current.mobile:
                changes["mobile"] = ["已填写" if current.mobile else "", "已填写" if mobile else ""]
                current.mobile = mobile
        if unit is not None and unit.pk != current.unit_id:
            unit = _check_unit_usable(unit)
            outside = [
                g for g in current.role_grants.select_related("unit", "role") if not is_within(g.unit, unit)
            ]
            if outside:
                names = "、".join(f"{g.role.name}（{g.unit.name}）" for g in outside[:3])
                raise Conflict(f"所属单位：该用户持有新单位范围之外的业务角色 {names}，请先收回", "unit")
            changes["unit_id"] = [current.unit_id, unit.pk]
            current.unit = unit
        if changes:
            current.save()
            record_event(
                actor,
                "directory.user.update",
                object_type="user",
                object_id=current.pk,
                details={"changes": changes},
                request=request,
            )
    return current


def _ensure_not_admin_account(target: User, what: str) -> None:
    if target.admin_role:
        raise PermissionDenied(
            f"不能在网页上{what}管理员账号（三权分立：管理员账号由运维人员通过命令行管理）"
        )


def do_disable_user(actor: Any, user: User, *, request: HttpRequest | None = None) -> User:
    with _attempt(actor, "directory.user.disable", "user", user.pk, request):
        ensure_admin(actor, AdminRole.SYSTEM)
        current = User.objects.select_for_update().get(pk=user.pk)
        if current.pk == _actor_id(actor):
            raise DomainError("不能停用本人账号")
        _ensure_not_admin_account(current, "停用")
        if not current.is_active:
            raise Conflict("该账号已停用")
        current.is_active = False
        current.save(update_fields=["is_active"])
        record_event(
            actor,
            "directory.user.disable",
            object_type="user",
            object_id=current.pk,
            details={"username": current.username},
            request=request,
        )
    return current


def do_enable_user(actor: Any, user: User, *, request: HttpRequest | None = None) -> User:
    with _attempt(actor, "directory.user.enable", "user", user.pk, request):
        ensure_admin(actor, AdminRole.SYSTEM)
        current = User.objects.select_for_update().get(pk=user.pk)
        _ensure_not_admin_account(current, "启用")
        if current.is_active:
            raise Conflict("该账号已是启用状态")
        _check_unit_usable(current.unit)
        current.is_active = True
        current.save(update_fields=["is_active"])
        record_event(
            actor,
            "directory.user.enable",
            object_type="user",
            object_id=current.pk,
            details={"username": current.username},
            request=request,
        )
    return current


def do_reset_password(
    actor: Any, user: User, new_password: str, *, request: HttpRequest | None = None
) -> User:
    """An administrator sets a new password; the user must change it at next login."""
    with _attempt(actor, "directory.user.reset_password", "user", user.pk, request):
        ensure_admin(actor, AdminRole.SYSTEM)
        current = User.objects.select_for_update().get(pk=user.pk)
        if current.pk == _actor_id(actor):
            raise DomainError("请在“账号与安全”中修改本人密码", "password")
        _ensure_not_admin_account(current, "重置")
        _check_password(new_password, current, "新密码")
        _set_admin_chosen_password(current, new_password)
        current.save(update_fields=["password", "password_changed_at", "must_change_password"])
        record_event(
            actor,
            "directory.user.reset_password",
            object_type="user",
            object_id=current.pk,
            details={"username": current.username},
            request=request,
        )
    return current


# --- business roles --------------------------------------------------------------------------


def do_grant_role(
    actor: Any,
    user: User,
    role: BusinessRole,
    unit: Unit | None = None,
    *,
    request: HttpRequest | None = None,
) -> RoleGrant:
    """Give `user` a business role within `unit` (default: the user's own unit)."""
    details = {"role": role.code, "unit_id": unit.pk if unit else None}
    with _attempt(actor, "directory.role.grant", "user", user.pk, request, details):
        ensure_admin(actor, AdminRole.SYSTEM)
        current = User.objects.select_for_update().get(pk=user.pk)
        if current.admin_role:
            raise DomainError("管理员账号不得持有业务角色（三权分立：管理员账号专用于管理）", "role")
        if current.account_kind == AccountKind.PUBLIC:
            raise DomainError("公众用户账号不得持有工作人员角色", "user")
        if not current.is_active:
            raise DomainError("该账号已停用，不能授予角色", "user")
        if current.unit is None:
            raise DomainError("该账号没有所属单位，不能授予角色", "user")
        target_unit = unit or current.unit
        if not target_unit.is_active:
            raise DomainError("适用单位：该单位已停用", "unit")
        if not is_within(target_unit, current.unit):
            raise DomainError("适用单位：必须是该用户所在单位或其下级单位", "unit")
        if RoleGrant.objects.filter(user=current, role=role, unit=target_unit).exists():
            raise Conflict(f"该用户已在{target_unit.name}持有“{role.name}”角色", "role")
        grant = RoleGrant.objects.create(
            user=current, role=role, unit=target_unit, granted_by=actor if _actor_id(actor) else None
        )
        record_event(
            actor,
            "directory.role.grant",
            object_type="user",
            object_id=current.pk,
            details={"grant_id": grant.pk, "role": role.code, "unit_id": target_unit.pk},
            request=request,
        )
    return grant


def do_revoke_role(actor: Any, grant: RoleGrant, *, request: HttpRequest | None = None) -> None:
    details = {"grant_id": grant.pk, "role": grant.role.code, "unit_id": grant.unit_id}
    with _attempt(actor, "directory.role.revoke", "user", grant.user_id, request, details):
        ensure_admin(actor, AdminRole.SYSTEM)
        deleted, _ = RoleGrant.objects.filter(pk=grant.pk).delete()
        if not deleted:
            raise Conflict("该授权已被收回")
        record_event(
            actor,
            "directory.role.revoke",
            object_type="user",
            object_id=grant.user_id,
            details=details,
            request=request,
        )


# --- administrator roles (operator command only) ---------------------------------------------


def do_assign_admin_role(actor: Any, user: User, role: str, *, request: HttpRequest | None = None) -> bool:
    """Make `user` the given administrator (`role` = "" removes it). Returns True when changed.

    Only the operator command calls this (actor None): nobody can change admin roles on the web.
    三权分立: one person never holds two administrator roles, nor an administrator role and a
    business role.
    """
    details = {"username": user.username, "role": role}
    with _attempt(actor, "directory.user.assign_admin_role", "user", user.pk, request, details):
        if actor is not None:
            raise PermissionDenied("管理员角色只能由运维人员通过命令行 zhengwu assign_admin_role 指定")
        if role and role not in AdminRole.values:
            raise DomainError(f"管理员角色只能是 {'、'.join(AdminRole.values)}（或 none 表示取消）", "role")
        current = User.objects.select_for_update().get(pk=user.pk)
        if role and current.account_kind == AccountKind.PUBLIC:
            raise DomainError("公众用户账号不得担任管理员", "user")
        if current.admin_role == role:
            return False
        if role and current.admin_role:
            raise Conflict(
                f"同一人不得兼任两个管理员角色：该账号已是{AdminRole(current.admin_role).label}，"
                "请先取消原角色",
                "role",
            )
        if role:
            held = list(current.role_grants.select_related("role").values_list("role__name", flat=True)[:3])
            if held:
                raise Conflict(
                    f"同一人不得兼任两个管理员角色，也不得兼任业务角色：该账号持有业务角色"
                    f"{'、'.join(held)}，请先收回",
                    "role",
                )
        previous = current.admin_role
        current.admin_role = role
        current.save(update_fields=["admin_role"])
        record_event(
            actor,
            "directory.user.assign_admin_role",
            object_type="user",
            object_id=current.pk,
            details={"username": current.username, "from": previous, "to": role},
            request=request,
        )
    return True
