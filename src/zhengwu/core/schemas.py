"""API schemas of the code validators (/api/v1/validators)."""

from __future__ import annotations

from datetime import date

from ninja import Schema
from pydantic import Field

from .validators import MAX_INPUT_LENGTH


class ValueIn(Schema):
    value: str = Field(..., max_length=MAX_INPUT_LENGTH, description="待校验的值（空格和连字符会被忽略）")


class CheckOut(Schema):
    ok: bool = Field(..., description="是否有效")
    reason: str = Field(..., description="无效时的中文原因；有效时为空")
    normalized: str = Field(..., description="规范化后的值（无法读取时为空）")


class ResidentIdOut(CheckOut):
    birth_date: date | None = Field(None, description="出生日期")
    gender: str = Field("", description="性别：男 / 女（顺序码奇数为男）")
    area_code: str = Field("", description="地址码（前 6 位）")
    area_name: str = Field("", description="地址码对应的地名；已撤销的代码注明年份")
    area_is_current: bool | None = Field(None, description="地址码是否为现行行政区划代码")


class UsccOut(CheckOut):
    authority_code: str = Field("", description="登记管理部门代码（第 1 位）")
    authority_name: str = Field("", description="登记管理部门")
    entity_type_code: str = Field("", description="机构类别代码（第 2 位）")
    entity_type_name: str = Field("", description="机构类别")
    area_code: str = Field("", description="登记管理机关行政区划码（第 3—8 位）")
    area_name: str = Field("", description="行政区划名称")
    area_is_current: bool | None = Field(None, description="行政区划码是否为现行代码")
    organization_code: str = Field("", description="主体标识码（组织机构代码，第 9—17 位）")


class DivisionCheckOut(CheckOut):
    name: str = Field("", description="名称（乡级、村级代码无名称数据，为空）")
    level: str = Field("", description="级别：province / prefecture / county / township / village")
    level_name: str = Field("", description="级别中文名：省级 / 地级 / 县级 / 乡级 / 村级")
    parent_code: str | None = Field(None, description="上级代码")
    full_name: str = Field("", description="全称（含上级）")


class DivisionOut(Schema):
    code: str
    name: str
    level: str = Field(..., description="province / prefecture / county")
    level_name: str = Field(..., description="省级 / 地级 / 县级")
    parent_code: str | None
    full_name: str


class DivisionListOut(Schema):
    items: list[DivisionOut]
    count: int = Field(..., description="本次返回的条数")
    truncated: bool = Field(..., description="是否还有更多结果未返回（请缩小查询或增大 limit）")


class DivisionDetailOut(DivisionOut):
    ancestors: list[DivisionOut] = Field(..., description="上级区划，从省级开始")
    children: list[DivisionOut] = Field(..., description="直接下级区划")
