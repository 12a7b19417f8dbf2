"""API schemas for identity. Policy ranges come from models.POLICY_RANGES (one source)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from .models import POLICY_LABELS, POLICY_RANGES


def _ranged(name: str) -> Any:
    low, high = POLICY_RANGES[name]
    return Field(..., ge=low, le=high, description=f"{POLICY_LABELS[name]}（{low}–{high}）")


class UnitOut(BaseModel):
    id: int
    name: str


class BusinessRoleOut(BaseModel):
    code: str
    name: str
    unit_id: int
    unit_name: str


class MeOut(BaseModel):
    username: str
    full_name: str
    unit: UnitOut | None
    admin_role: str = Field(description="system_admin / security_admin / audit_admin，业务用户为空")
    admin_role_label: str
    business_roles: list[BusinessRoleOut]
    totp_enabled: bool
    password_expires_at: datetime | None


class PolicyOut(BaseModel):
    password_min_length: int
    password_min_classes: int
    password_history: int
    password_max_age_days: int
    account_lock_threshold: int
    account_lock_window_minutes: int
    account_lock_minutes: int
    address_lock_threshold: int
    address_lock_window_minutes: int
    address_lock_minutes: int
    session_idle_minutes: int
    totp_required_for_all: bool
    updated_at: datetime | None


class PolicyIn(BaseModel):
    """The whole policy (PUT replaces every value)."""

    model_config = ConfigDict(extra="forbid")

    password_min_length: int = _ranged("password_min_length")
    password_min_classes: int = _ranged("password_min_classes")
    password_history: int = _ranged("password_history")
    password_max_age_days: int = _ranged("password_max_age_days")
    account_lock_threshold: int = _ranged("account_lock_threshold")
    account_lock_window_minutes: int = _ranged("account_lock_window_minutes")
    account_lock_minutes: int = _ranged("account_lock_minutes")
    address_lock_threshold: int = _ranged("address_lock_threshold")
    address_lock_window_minutes: int = _ranged("address_lock_window_minutes")
    address_lock_minutes: int = _ranged("address_lock_minutes")
    session_idle_minutes: int = _ranged("session_idle_minutes")
    totp_required_for_all: bool


class LockOut(BaseModel):
    id: int
    kind: str
    kind_label: str
    key: str
    failures: int
    locked_at: datetime
    locked_until: datetime
    unlocked_at: datetime | None
