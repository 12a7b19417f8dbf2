"""What the serving store holds: one physical table per build of a resource (`ServedTable`) and
the pointer to the one that is live (`ServedResource`). Readers follow the pointer; a full
rebuild loads a new table and moves the pointer in one transaction, so a new version becomes
visible at once, never half."""

from __future__ import annotations

from django.db import models


class TableState(models.TextChoices):
    BUILDING = "building", "构建中"
    LIVE = "live", "在用"
    RETIRED = "retired", "已停用"


class ServedTable(models.Model):
    """One physical SQL table (`srv_<code>_<id>`) holding one version of a resource's rows."""

    resource_code = models.CharField("信息资源代码", max_length=40, db_index=True)
    lake_version = models.IntegerField("湖表版本")
    catalog_version = models.IntegerField("目录版本", default=0)
    table_name = models.CharField("物理表名", max_length=63, unique=True)
    # [{"field": "id_no", "data_type": "字符", "label": "公民身份号码", "division": false}, ...]
    columns = models.JSONField("列及类型", default=list)
    key_columns = models.JSONField("主键列", default=list)
    row_count = models.BigIntegerField("行数", default=0)
    state = models.CharField("状态", max_length=10, choices=TableState.choices, default=TableState.BUILDING)
    created_at = models.DateTimeField("开始构建", auto_now_add=True)
    built_at = models.DateTimeField("构建完成", null=True, blank=True)
    build_seconds = models.FloatField("构建耗时（秒）", default=0)
    refreshed_at = models.DateTimeField("最近刷新", null=True, blank=True)
    retired_at = models.DateTimeField("停用时间", null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "服务库表"
        ordering = ["resource_code", "-id"]
        constraints = [
            # One build of a resource at a time (the refresh claim also coalesces; this is the floor).
            models.UniqueConstraint(
                fields=["resource_code"], condition=models.Q(state="building"), name="serving_one_building",
            ),
            models.UniqueConstraint(
                fields=["resource_code"], condition=models.Q(state="live"), name="serving_one_live",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.table_name} ({self.resource_code} v{self.lake_version}, {self.get_state_display()})"


class ServedResource(models.Model):
    """The pointer: which table answers for a resource (None: nothing served), and the refresh
    claim (one refresh at a time; a request arriving meanwhile sets `rerun` and is coalesced)."""

    resource_code = models.CharField("信息资源代码", max_length=40, unique=True)
    live = models.ForeignKey(ServedTable, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    claim_token = models.CharField("刷新令牌", max_length=32, blank=True)
    claimed_at = models.DateTimeField("刷新开始", null=True, blank=True)
    rerun = models.BooleanField("刷新期间又有新版本", default=False)
    updated_at = models.DateTimeField("指针更新", auto_now=True)

    class Meta:
        verbose_name = verbose_name_plural = "服务库指针"

    def __str__(self) -> str:
        return f"{self.resource_code} → {self.live_id or '无'}"
