"""Identity API, mounted at /api/v1/identity. Thin: rules live in services.py and queries.py."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router

from zhengwu.core.listing import ListOut, listing
from zhengwu.directory.models import AdminRole
from zhengwu.directory.permissions import ensure_admin

from . import queries, services
from .models import LoginLock, SecurityPolicy
from .schemas import LockOut, MeOut, PolicyIn, PolicyOut

router = Router(tags=["身份认证"])


def _policy_out(policy: SecurityPolicy) -> PolicyOut:
    return PolicyOut.model_validate({name: getattr(policy, name) for name in PolicyOut.model_fields})


def _lock_out(lock: LoginLock) -> LockOut:
    return LockOut(
        id=lock.pk,
        kind=lock.kind,
        kind_label=lock.get_kind_display(),
        key=lock.key,
        failures=lock.failures,
        locked_at=lock.locked_at,
        locked_until=lock.locked_until,
        unlocked_at=lock.unlocked_at,
    )


@router.get("/me", response=MeOut, summary="当前登录用户")
def me(request: HttpRequest) -> MeOut:
    user = request.user
    unit = getattr(user, "unit", None)
    return MeOut.model_validate(
        {
            "username": user.get_username(),
            "full_name": getattr(user, "full_name", ""),
            "unit": {"id": unit.pk, "name": unit.name} if unit is not None else None,
            "admin_role": getattr(user, "admin_role", ""),
            "admin_role_label": user.get_admin_role_display() if getattr(user, "admin_role", "") else "",  # type: ignore[union-attr]
            "business_roles": queries.business_roles(user),
            "totp_enabled": queries.has_totp(user),
            "password_expires_at": queries.password_expires_at(user, queries.get_policy(request)),
        }
    )


@router.get("/policy", response=PolicyOut, summary="安全策略（安全管理员）")
def get_policy(request: HttpRequest) -> PolicyOut:
    ensure_admin(request.user, AdminRole.SECURITY)
    return _policy_out(queries.get_policy(request))


@router.put("/policy", response=PolicyOut, summary="修改安全策略（安全管理员）")
def put_policy(request: HttpRequest, payload: PolicyIn) -> PolicyOut:
    ensure_admin(request.user, AdminRole.SECURITY)
    policy = services.do_update_policy(request.user, payload.model_dump(), request)
    return _policy_out(policy)


@router.get("/locks", response=ListOut[LockOut], summary="当前锁定的账号和来源地址（安全管理员）")
def list_locks(request: HttpRequest) -> dict[str, Any]:
    return listing(_lock_out(lock) for lock in queries.active_locks(request.user))


@router.post("/locks/{lock_id}/unlock", response=LockOut, summary="解除锁定（安全管理员）")
def unlock(request: HttpRequest, lock_id: int) -> LockOut:
    return _lock_out(services.do_unlock(request.user, lock_id, request))
