"""Government units (单位), their staff accounts and roles."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models.functions import Lower

from zhengwu.core.roles import AdminRole  # the one definition lives in core (re-exported here)


class UnitLevel(models.TextChoices):
    PROVINCE = "province", "省"
    CITY = "city", "市"
    COUNTY = "county", "县区"
    TOWNSHIP = "township", "乡镇街道"
    VILLAGE = "village", "村社区"


class UnitType(models.TextChoices):
    PARTY = "party", "党委"
    CONGRESS = "congress", "人大"
    GOVERNMENT = "government", "人民政府"
    DEPARTMENT = "department", "政府部门"
    CPPCC = "cppcc", "政协"
    COURT = "court", "法院"
    PROCURATORATE = "procuratorate", "检察院"
    INSTITUTION = "institution", "事业单位"
    TOWNSHIP = "township", "乡镇街道"
    VILLAGE = "village", "村社区"
    OTHER = "other", "其他"


class Unit(models.Model):
    """A government unit in the directory tree."""

    name = models.CharField("单位名称", max_length=100)
    short_name = models.CharField("简称", max_length=50, blank=True)
    parent = models.ForeignKey(
        "self",
        verbose_name="上级单位",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    level = models.CharField("行政层级", max_length=16, choices=UnitLevel.choices)
    unit_type = models.CharField("单位类型", max_length=16, choices=UnitType.choices)
    division_code = models.CharField(
        "行政区划代码", max_length=6, help_text="GB/T 2260 六位代码，从区划表选择"
    )
    stat_division_code = models.CharField(
        "统计用区划代码", max_length=12, blank=True, help_text="乡镇街道 9 位、村社区 12 位，可选"
    )
    uscc = models.CharField("统一社会信用代码", max_length=18, unique=True, null=True, blank=True)
    sort_order = models.PositiveIntegerField("排序", default=0)
    is_active = models.BooleanField("启用", default=True)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = "单位"
        verbose_name_plural = "单位"
        ordering = ["sort_order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["parent", "name"], name="unit_name_unique_under_parent"),
        ]

    def __str__(self) -> str:
        return self.name

    def ancestors(self) -> list[Unit]:
        chain: list[Unit] = []
        node = self.parent
        while node is not None:
            chain.insert(0, node)
            node = node.parent
        return chain


class AccountKind(models.TextChoices):
    STAFF = "staff", "工作人员"
    PUBLIC = "public", "公众用户"


class User(AbstractUser):
    """An account. Staff accounts belong to a unit; public accounts (自然人 / 法人经办, see
    identity.public) are a separate population: they never hold a unit, a business role or an
    administrator role, and the staff consoles refuse them."""

    account_kind = models.CharField(
        "账号类别", max_length=8, choices=AccountKind.choices, default=AccountKind.STAFF, db_index=True
    )

    full_name = models.CharField("姓名", max_length=50)
    unit = models.ForeignKey(
        Unit, verbose_name="所属单位", on_delete=models.PROTECT, related_name="staff", null=True
    )
    mobile = models.CharField("手机号码", max_length=11, blank=True)
    admin_role = models.CharField(
        "管理员角色", max_length=16, choices=AdminRole.choices, blank=True, default=""
    )
    password_changed_at = models.DateTimeField("密码修改时间", null=True, blank=True)
    must_change_password = models.BooleanField("下次登录须修改密码", default=False)

    REQUIRED_FIELDS = ["full_name"]

    class Meta:
        verbose_name = "工作人员账号"
        verbose_name_plural = "工作人员账号"
        constraints = [
            models.UniqueConstraint(Lower("username"), name="user_username_ci_unique"),
            # A public account never belongs to a unit nor holds an administrator role.
            models.CheckConstraint(
                condition=~models.Q(account_kind="public") | models.Q(unit__isnull=True, admin_role=""),
                name="user_public_has_no_unit_or_admin_role",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.full_name}（{self.username}）"

    @property
    def is_administrator(self) -> bool:
        return bool(self.admin_role)


class BusinessRole(models.Model):
    """A per-unit business role; later apps register theirs in a data migration."""

    code = models.SlugField("角色代码", max_length=50, unique=True)
    name = models.CharField("角色名称", max_length=50)
    app_label = models.CharField("所属模块", max_length=50)
    description = models.CharField("说明", max_length=200, blank=True)

    class Meta:
        verbose_name = "业务角色"
        verbose_name_plural = "业务角色"
        ordering = ["app_label", "code"]

    def __str__(self) -> str:
        return self.name


class RoleGrant(models.Model):
    """A business role held by a user within a unit."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="role_grants")
    role = models.ForeignKey(BusinessRole, on_delete=models.PROTECT, related_name="grants")
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="role_grants")
    granted_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    granted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "角色授权"
        verbose_name_plural = "角色授权"
        constraints = [models.UniqueConstraint(fields=["user", "role", "unit"], name="role_grant_unique")]

    def __str__(self) -> str:
        return f"{self.user} · {self.role} @ {self.unit}"
