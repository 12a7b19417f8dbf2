"""Register the portal's business role 门户编辑 (edits the portal's 通知公告)."""

from django.db import migrations

ROLES = [
    ("portal_editor", "门户编辑", "编辑门户网站的通知公告（草稿、发布、撤回），所有修改均被审计"),
]


def add_roles(apps, schema_editor):
    BusinessRole = apps.get_model("directory", "BusinessRole")
    for code, name, description in ROLES:
        BusinessRole.objects.update_or_create(
            code=code, defaults={"name": name, "app_label": "portal", "description": description}
        )


def remove_roles(apps, schema_editor):
    BusinessRole = apps.get_model("directory", "BusinessRole")
    BusinessRole.objects.filter(code__in=[c for c, _, _ in ROLES], grants__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("portal", "0001_notice"), ("directory", "0002_base_business_roles")]

    operations = [migrations.RunPython(add_roles, remove_roles)]
