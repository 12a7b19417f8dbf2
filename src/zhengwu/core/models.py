from django.db import models


class PeriodicJobRun(models.Model):
    """When each periodic job was last enqueued (see core/periodic.py)."""

    name = models.CharField(max_length=100, unique=True)
    last_enqueued_at = models.DateTimeField()

    class Meta:
        verbose_name = "定期任务记录"

    def __str__(self) -> str:
        return f"{self.name} @ {self.last_enqueued_at:%Y-%m-%d %H:%M}"
