"""Register the catalog's business role 目录审核员 (held by staff of the data authority)."""

from django.db import migrations

ROLES = [
    ("catalog_reviewer", "目录审核员", "数据主管部门（大数据管理局）审核各单位提交的政务信息资源目录"),
]


def add_roles(apps, schema_editor):
    BusinessRole = apps.get_model("directory", "BusinessRole")
    for code, name, description in ROLES:
        BusinessRole.objects.update_or_create(
            code=code, defaults={"name": name, "app_label": "catalog", "description": description}
        )


def remove_roles(apps, schema_editor):
    BusinessRole = apps.get_model("directory", "BusinessRole")
    BusinessRole.objects.filter(code__in=[c for c, _, _ in ROLES], grants__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("catalog", "0001_initial"), ("directory", "0002_base_business_roles")]

    operations = [migrations.RunPython(add_roles, remove_roles)]
