"""The demo city (示范市): a unit tree and one account per role, for trying the platform out.

The city is shown as "示范市" but carries the real GB/T 2260 codes of 梅州市 (441400) and the
real names of four of its counties/districts, looked up by name in the division table (nothing
typed by hand). Township and street names are real names of those counties; villages/communities
are fictional ("示范村", "示范社区").

DEMO VALUES: the unified social credit codes (统一社会信用代码) are generated here, deterministically
from each unit's name: they have the valid GB 32100 layout and check character (authority 1 =
机构编制, type 1 = 机关 / 2 = 事业单位, area = the unit's division code, a 9-character organisation
code with its own GB 11714 check digit), but they are NOT the real codes of any real body.

Loading is idempotent: every unit, account and grant is looked up before it is created, so a
second run changes nothing (and writes no audit record).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from zhengwu.audit.services import record_event
from zhengwu.core import divisions
from zhengwu.core.errors import DomainError

from .models import AdminRole, BusinessRole, RoleGrant, Unit, UnitLevel, UnitType, User
from .services import clean_unit_values

CITY_DIVISION_NAME = "梅州市"
PROVINCE_DIVISION_NAME = "广东省"
CITY_DISPLAY_NAME = "示范市"
CITY_GOVERNMENT = f"{CITY_DISPLAY_NAME}人民政府"
DEFAULT_PASSWORD = "Zhengwu@2026demo"  # noqa: S105 — the documented demo password, demo data only
PASSWORD_ENV = "ZHENGWU_DEMO_PASSWORD"  # noqa: S105 — a variable name, not a secret

C = CITY_DISPLAY_NAME
CITY_BODIES = [  # city-level bodies beside the government (roots of the tree)
    (f"中共{C}委员会", "市委", UnitType.PARTY),
    (f"{C}人民代表大会常务委员会", "市人大常委会", UnitType.CONGRESS),
    (CITY_GOVERNMENT, "市政府", UnitType.GOVERNMENT),
    (f"中国人民政治协商会议{C}委员会", "市政协", UnitType.CPPCC),
    (f"{C}中级人民法院", "市中院", UnitType.COURT),
    (f"{C}人民检察院", "市检察院", UnitType.PROCURATORATE),
]
CITY_DEPARTMENTS = [  # (name, short name) under the city government
    (f"{C}公安局", "公安局"),
    (f"{C}市场监督管理局", "市场监管局"),
    (f"{C}民政局", "民政局"),
    (f"{C}人力资源和社会保障局", "人社局"),
    (f"{C}卫生健康委员会", "卫健委"),
    (f"{C}教育局", "教育局"),
    (f"{C}自然资源和规划局", "自然资源局"),
    (f"{C}住房和城乡建设局", "住建局"),
    (f"{C}交通运输局", "交通运输局"),
    (f"{C}生态环境局", "生态环境局"),
    (f"{C}政务服务数据管理局", "政务服务管理办公室"),
    (f"{C}大数据管理局", "大数据局"),
    (f"{C}财政局", "财政局"),
    (f"{C}发展和改革局", "发改局"),
    (f"{C}统计局", "统计局"),
    (f"{C}司法局", "司法局"),
    (f"{C}应急管理局", "应急管理局"),
    (f"{C}水务局", "水务局"),
    (f"{C}农业农村局", "农业农村局"),
    (f"{C}医疗保障局", "医保局"),
]
CITY_INSTITUTIONS = [  # (name, short name, parent department) — 事业单位
    (f"{C}政务服务中心", "政务服务中心", f"{C}政务服务数据管理局"),
]
CITY_OTHER_UNITS = [  # (name, short name, type, parent or None) — party offices, mass organisations, vertical units
    (f"中共{C}委员会机构编制委员会办公室", "市委编办", UnitType.PARTY, f"中共{C}委员会"),
    (f"{C}残疾人联合会", "市残联", UnitType.OTHER, None),
    (f"国家税务总局{C}税务局", "市税务局", UnitType.DEPARTMENT, None),
]
COUNTY_DEPARTMENTS = ["公安局", "市场监督管理局", "民政局", "人力资源和社会保障局", "政务服务数据管理局"]
COUNTIES: dict[
    str, dict[str, list[str]]
] = {  # real county/district names of 梅州市 → real township/street names; villages are fictional
    "梅江区": {
        "金山街道": ["示范社区居民委员会"],
        "江南街道": [],
        "西郊街道": [],
        "三角镇": ["示范村村民委员会"],
    },
    "梅县区": {"程江镇": ["示范村村民委员会"], "新城街道": []},
    "兴宁市": {"兴田街道": [], "福兴街道": []},
    "平远县": {"大柘镇": [], "仁居镇": []},
}
COUNTY_DEPARTMENT_COUNT = {"梅江区": 5, "梅县区": 4, "兴宁市": 4, "平远县": 3}


@dataclass(frozen=True)
class DemoAccount:
    username: str
    full_name: str
    unit_name: str
    admin_role: str = ""
    roles: tuple[str, ...] = ()
    can_do: str = ""  # what the account can actually do in the platform today

    @property
    def role_label(self) -> str:
        if self.admin_role:
            return str(AdminRole(self.admin_role).label)
        names = dict(BusinessRole.objects.filter(code__in=self.roles).values_list("code", "name"))
        return "、".join(names.get(code, code) for code in self.roles)


ACCOUNTS = [
    DemoAccount("xtadmin", "谢婷", f"{C}大数据管理局", admin_role=AdminRole.SYSTEM,
                can_do="单位管理、用户管理（新建账号、授予业务角色）"),
    DemoAccount("aqadmin", "安庆", f"{C}大数据管理局", admin_role=AdminRole.SECURITY,
                can_do="登录锁定与解锁、安全策略、重置动态口令、出站白名单"),
    DemoAccount("sjadmin", "沈洁", f"{C}大数据管理局", admin_role=AdminRole.AUDIT,
                can_do="审计查询、导出、审计链核验"),
    DemoAccount("gaj_data", "高建国", f"{C}公安局", roles=("data_admin",),
                can_do="编制和提交公安局的目录、答复纠错、归集公安局的数据"),
    DemoAccount("scj_data", "马丽华", f"{C}市场监督管理局", roles=("data_admin",),
                can_do="编制和提交市场监督管理局的目录、答复纠错、归集其数据"),
    DemoAccount("dsj_data", "戴晓东", f"{C}大数据管理局", roles=("data_admin",),
                can_do="数据主管部门：审核各单位提交的目录（发布或退回），查看各单位的归集批次"),
    DemoAccount("zwb_clerk", "钟小梅", f"{C}政务服务数据管理局", roles=("clerk",),
                can_do="检索目录、查看目录统计和数据质量评分、提出纠错（一网通办上线后受理事项）"),
    DemoAccount("zwb_review", "黄志强", f"{C}政务服务数据管理局", roles=("reviewer",),
                can_do="检索目录、查看统计和质量评分、提出纠错；“审核人”用于一网通办事项的审核（尚未上线），"
                "不能审核目录（目录审核由大数据管理局的数据管理员 dsj_data 负责）"),
    DemoAccount("mjq_clerk", "李秀英", "梅江区政务服务数据管理局", roles=("clerk", "data_admin"),
                can_do="编制和提交梅江区政务服务数据管理局的目录、归集其数据"),
]

# --- demo unified social credit codes ----------------------------------------------------------

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = [pow(3, i, 31) for i in range(17)]
ORG_CODE_WEIGHTS = [3, 7, 9, 10, 5, 8, 4, 2]


def org_code_check(body: str) -> str:
    """GB 11714 check character of an 8-digit organisation code body."""
    total = sum(int(ch) * w for ch, w in zip(body, ORG_CODE_WEIGHTS, strict=True))
    value = 11 - total % 11
    return {10: "X", 11: "0"}.get(value, str(value))


def uscc_check(body: str) -> str:
    """GB 32100 check character of the first 17 characters."""
    total = sum(USCC_ALPHABET.index(ch) * w for ch, w in zip(body, USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def demo_uscc(name: str, division_code: str, institution: bool = False) -> str:
    """A deterministic, valid-format demo USCC (not the real code of any body)."""
    digest = hashlib.sha256(f"zhengwu-demo:{name}".encode()).hexdigest()
    body = f"{int(digest, 16) % 10**8:08d}"
    code17 = "1" + ("2" if institution else "1") + division_code + body + org_code_check(body)
    return code17 + uscc_check(code17)


# --- loading -----------------------------------------------------------------------------------


@dataclass
class LoadReport:
    created_units: list[str] = field(default_factory=list)
    created_users: list[str] = field(default_factory=list)
    created_grants: list[str] = field(default_factory=list)
    already_loaded: bool = False
    password: str = ""

    @property
    def changed(self) -> bool:
        return bool(self.created_units or self.created_users or self.created_grants)


def _division_by_name(name: str, parent_code: str) -> divisions.Division:
    matches = [d for d in divisions.children(parent_code) if d.name == name]
    if len(matches) != 1:
        raise DomainError(f"行政区划表中找不到 {name}（上级 {parent_code}）")
    return matches[0]


def city_division() -> divisions.Division:
    provinces = [
        d for d in divisions.table().values() if d.name == PROVINCE_DIVISION_NAME and d.level == "province"
    ]
    if len(provinces) != 1:
        raise DomainError(f"行政区划表中找不到 {PROVINCE_DIVISION_NAME}")
    return _division_by_name(CITY_DIVISION_NAME, provinces[0].code)


class _Loader:
    def __init__(self, report: LoadReport) -> None:
        self.report = report
        self.by_name: dict[str, Unit] = {}

    def unit(
        self,
        name: str,
        *,
        parent: Unit | None,
        level: str,
        unit_type: str,
        division_code: str,
        short_name: str = "",
        with_uscc: bool = True,
        sort_order: int = 0,
    ) -> Unit:
        existing = Unit.objects.filter(parent=parent, name=name).first()
        if existing is not None:
            self.by_name[name] = existing
            return existing
        values: dict[str, Any] = {
            "name": name,
            "short_name": short_name,
            "level": level,
            "unit_type": unit_type,
            "division_code": division_code,
            "stat_division_code": "",
            "uscc": demo_uscc(name, division_code, unit_type == UnitType.INSTITUTION) if with_uscc else None,
            "sort_order": sort_order,
        }
        cleaned = clean_unit_values(values, parent)  # the demo obeys the same rules as everyone
        unit = Unit.objects.create(parent=parent, **cleaned)
        self.by_name[name] = unit
        self.report.created_units.append(name)
        return unit

    def account(self, spec: DemoAccount, password: str) -> None:
        unit = self.by_name[spec.unit_name]
        user = User.objects.filter(username__iexact=spec.username).first()
        if user is None:
            user = User(
                username=spec.username, full_name=spec.full_name, unit=unit, admin_role=spec.admin_role
            )
            try:
                validate_password(password, user)
            except ValidationError as exc:
                raise DomainError(f"演示密码不符合密码策略：{'；'.join(exc.messages)}", "password") from exc
            user.set_password(password)
            user.password_changed_at = timezone.now()
            # The published demo password is known to everyone: each person changes it at first
            # login (identity's session policy sends them to 修改密码 before any other page).
            user.must_change_password = True
            user.save()
            self.report.created_users.append(spec.username)
        if user.admin_role:
            return  # 三权分立: administrator accounts hold no business role
        for code in spec.roles:
            role = BusinessRole.objects.get(code=code)
            _, created = RoleGrant.objects.get_or_create(user=user, role=role, unit=user.unit or unit)
            if created:
                self.report.created_grants.append(f"{spec.username}:{code}")


def load_demo_city(password: str | None = None) -> LoadReport:
    """Create the demo city's units and accounts (idempotent). Audited as directory.demo.load."""
    password = password or os.environ.get(PASSWORD_ENV) or DEFAULT_PASSWORD
    report = LoadReport(password=password)
    report.already_loaded = Unit.objects.filter(parent=None, name=CITY_GOVERNMENT).exists()
    city = city_division()
    loader = _Loader(report)
    with transaction.atomic():
        government: Unit | None = None
        for order, (name, short, unit_type) in enumerate(CITY_BODIES):
            unit = loader.unit(
                name,
                parent=None,
                level=UnitLevel.CITY,
                unit_type=unit_type,
                division_code=city.code,
                short_name=short,
                sort_order=order,
            )
            if name == CITY_GOVERNMENT:
                government = unit
        assert government is not None
        for order, (name, short) in enumerate(CITY_DEPARTMENTS):
            loader.unit(
                name,
                parent=government,
                level=UnitLevel.CITY,
                unit_type=UnitType.DEPARTMENT,
                division_code=city.code,
                short_name=short,
                sort_order=order,
            )
        for name, short, parent_name in CITY_INSTITUTIONS:
            loader.unit(
                name,
                parent=loader.by_name[parent_name],
                level=UnitLevel.CITY,
                unit_type=UnitType.INSTITUTION,
                division_code=city.code,
                short_name=short,
            )
        for order, (other_name, other_short, other_type, other_parent) in enumerate(CITY_OTHER_UNITS, start=50):
            loader.unit(
                other_name,
                parent=loader.by_name[other_parent] if other_parent else None,
                level=UnitLevel.CITY,
                unit_type=other_type,
                division_code=city.code,
                short_name=other_short,
                sort_order=order,
            )
        for county_order, (county_name, townships) in enumerate(COUNTIES.items(), start=100):
            county = _division_by_name(county_name, city.code)
            county_gov = loader.unit(
                f"{county_name}人民政府",
                parent=government,
                level=UnitLevel.COUNTY,
                unit_type=UnitType.GOVERNMENT,
                division_code=county.code,
                sort_order=county_order,
            )
            for order, dept in enumerate(COUNTY_DEPARTMENTS[: COUNTY_DEPARTMENT_COUNT[county_name]]):
                loader.unit(
                    f"{county_name}{dept}",
                    parent=county_gov,
                    level=UnitLevel.COUNTY,
                    unit_type=UnitType.DEPARTMENT,
                    division_code=county.code,
                    short_name=dept,
                    sort_order=order,
                )
            for order, (township_name, villages) in enumerate(townships.items(), start=50):
                office = "办事处" if township_name.endswith("街道") else "人民政府"
                township = loader.unit(
                    f"{township_name}{office}",
                    parent=county_gov,
                    level=UnitLevel.TOWNSHIP,
                    unit_type=UnitType.TOWNSHIP,
                    division_code=county.code,
                    short_name=township_name,
                    sort_order=order,
                )
                for village_name in villages:
                    loader.unit(
                        village_name,
                        parent=township,
                        level=UnitLevel.VILLAGE,
                        unit_type=UnitType.VILLAGE,
                        division_code=county.code,
                        with_uscc=False,
                    )
        for spec in ACCOUNTS:
            loader.account(spec, password)
        if report.changed:
            record_event(
                None,
                "directory.demo.load",
                object_type="demo",
                object_id=city.code,
                details={
                    "units": len(report.created_units),
                    "users": report.created_users,
                    "grants": len(report.created_grants),
                    "note": "统一社会信用代码为演示值",
                },
            )
    return report
