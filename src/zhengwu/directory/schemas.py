"""API schemas of the directory. Every input has limits, so no input reaches the database unchecked."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from ninja import Schema
from pydantic import ConfigDict, Field

from .models import UnitLevel, UnitType

MAX_ID = 2**53  # fits every database's 64-bit integer and JavaScript's safe integers
ObjectId = Annotated[int, Field(ge=1, le=MAX_ID)]
LevelCode = Literal["province", "city", "county", "township", "village"]
UnitTypeCode = Literal[
    "party",
    "congress",
    "government",
    "department",
    "cppcc",
    "court",
    "procuratorate",
    "institution",
    "township",
    "village",
    "other",
]

assert set(LevelCode.__args__) == set(UnitLevel.values)  # type: ignore[attr-defined]
assert set(UnitTypeCode.__args__) == set(UnitType.values)  # type: ignore[attr-defined]


class StrictIn(Schema):
    model_config = ConfigDict(extra="forbid")


# --- units -------------------------------------------------------------------------------------


class UnitOut(Schema):
    id: int
    name: str
    short_name: str
    parent_id: int | None
    level: str
    level_name: str
    unit_type: str
    unit_type_name: str
    division_code: str
    division_name: str
    stat_division_code: str
    uscc: str | None
    sort_order: int
    is_active: bool
    staff_count: int | None = None


class UnitTreeOut(UnitOut):
    children: list[UnitTreeOut] = []


class UnitFilter(Schema):
    format: Literal["tree", "flat"] = "flat"
    level: LevelCode | None = None
    parent_id: ObjectId | None = None
    active: bool | None = None
    q: str | None = Field(None, max_length=50)


class UnitCreateIn(StrictIn):
    name: str = Field(min_length=1, max_length=100)
    short_name: str = Field("", max_length=50)
    parent_id: ObjectId | None = None
    level: LevelCode
    unit_type: UnitTypeCode
    division_code: str = Field(min_length=6, max_length=6, pattern=r"^\d{6}$")
    stat_division_code: str = Field("", max_length=12, pattern=r"^\d{0,12}$")
    uscc: str | None = Field(None, max_length=18)
    sort_order: int = Field(0, ge=0, le=1_000_000)


class UnitPatchIn(StrictIn):
    """Only the fields sent are changed. `parent_id` moves the unit (null = make it a root);
    `is_active` false/true deactivates/reactivates it."""

    name: str | None = Field(None, min_length=1, max_length=100)
    short_name: str | None = Field(None, max_length=50)
    parent_id: ObjectId | None = None
    level: LevelCode | None = None
    unit_type: UnitTypeCode | None = None
    division_code: str | None = Field(None, min_length=6, max_length=6, pattern=r"^\d{6}$")
    stat_division_code: str | None = Field(None, max_length=12, pattern=r"^\d{0,12}$")
    uscc: str | None = Field(None, max_length=18)
    sort_order: int | None = Field(None, ge=0, le=1_000_000)
    is_active: bool | None = None


# --- users and roles ---------------------------------------------------------------------------


class GrantOut(Schema):
    id: int
    role: str
    role_name: str
    unit_id: int
    unit_name: str
    granted_at: datetime


class UserOut(Schema):
    """Names-only viewers (business users, 审计管理员) get the null fields left empty."""

    id: int
    full_name: str
    unit_id: int | None
    unit_name: str | None
    username: str | None = None
    mobile: str | None = None
    admin_role: str | None = None
    is_active: bool | None = None
    must_change_password: bool | None = None
    roles: list[GrantOut] | None = None


class UserPage(Schema):
    count: int
    limit: int
    offset: int
    items: list[UserOut]


class UserFilter(Schema):
    limit: int = Field(50, ge=1, le=200)
    offset: int = Field(0, ge=0, le=10_000_000)
    unit_id: ObjectId | None = None
    include_subunits: bool = False
    role: str | None = Field(None, max_length=50)
    active: bool | None = None
    q: str | None = Field(None, max_length=50)


class UserCreateIn(StrictIn):
    username: str = Field(min_length=3, max_length=64)
    full_name: str = Field(min_length=1, max_length=50)
    unit_id: ObjectId
    mobile: str = Field("", max_length=11)
    password: str = Field(min_length=1, max_length=128)


class UserPatchIn(StrictIn):
    """The admin role is not a field here: it is assigned by the operator command only."""

    full_name: str | None = Field(None, min_length=1, max_length=50)
    unit_id: ObjectId | None = None
    mobile: str | None = Field(None, max_length=11)
    is_active: bool | None = None


class RoleOut(Schema):
    code: str
    name: str
    app_label: str
    description: str


class GrantIn(StrictIn):
    role: str = Field(min_length=1, max_length=50)
    unit_id: ObjectId | None = None
