"""The portal's own table: 通知公告 (notices). Everything else it shows is registered by other apps."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

TITLE_MAX = 100
BODY_MAX = 20000


class NoticeQuerySet(models.QuerySet["Notice"]):
    def published(self, now: object = None) -> NoticeQuerySet:
        """Visible to the public: a publish time that has come."""
        return self.filter(published_at__isnull=False, published_at__lte=now or timezone.now())


class Notice(models.Model):
    """A 通知公告 of the portal. Plain text (shown escaped, paragraphs kept); a notice without a
    publish time is a draft; one with a future time appears when that time comes."""

    title = models.CharField("标题", max_length=TITLE_MAX)
    body = models.TextField("正文", max_length=BODY_MAX)
    published_at = models.DateTimeField("发布时间", null=True, blank=True, db_index=True)
    pinned = models.BooleanField("置顶", default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="创建人", on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    updated_at = models.DateTimeField("修改时间", auto_now=True)

    objects = NoticeQuerySet.as_manager()

    class Meta:
        verbose_name = "通知公告"
        verbose_name_plural = "通知公告"
        ordering = ["-pinned", "-published_at", "-id"]

    def __str__(self) -> str:
        return self.title

    @property
    def status(self) -> str:
        if self.published_at is None:
            return "草稿"
        if self.published_at > timezone.now():
            return "定时发布"
        return "已发布"
