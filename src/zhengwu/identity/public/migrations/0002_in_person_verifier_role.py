"""Register the business role 实名核验员 (staff at a service window who verify a person in person: 高级实名)."""

from django.db import migrations

ROLES = [
    ("identity_verifier", "实名核验员", "政务服务窗口工作人员：现场核验身份证件后，将公众用户账号提升为高级实名"),
]


def add_roles(apps, schema_editor):
    BusinessRole = apps.get_model("directory", "BusinessRole")
    for code, name, description in ROLES:
        BusinessRole.objects.update_or_create(
            code=code, defaults={"name": name, "app_label": "public_accounts", "description": description}
        )


def remove_roles(apps, schema_editor):
    BusinessRole = apps.get_model("directory", "BusinessRole")
    BusinessRole.objects.filter(code__in=[c for c, _, _ in ROLES], grants__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("public_accounts", "0001_initial"), ("directory", "0002_base_business_roles")]

    operations = [migrations.RunPython(add_roles, remove_roles)]
