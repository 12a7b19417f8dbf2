"""信息项 gain 必填 (required). Key items are always required: existing key items are marked so,
matching what the data center already assumed for them."""

from typing import Any

from django.db import migrations, models


def key_items_are_required(apps: Any, schema_editor: Any) -> None:
    CatalogItem = apps.get_model("catalog", "CatalogItem")
    CatalogItem.objects.filter(is_key=True).update(required=True)


class Migration(migrations.Migration):

    dependencies = [
        ("catalog", "0003_index_stats_and_covering_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="catalogitem",
            name="required",
            field=models.BooleanField(default=False, help_text="数据中不能为空；主键总是必填", verbose_name="必填"),
        ),
        migrations.RunPython(key_items_are_required, migrations.RunPython.noop),
    ]
