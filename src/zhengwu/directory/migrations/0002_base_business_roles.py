"""Register the base business roles. Later apps add theirs the same way (app_label = the app)."""

from django.db import migrations

BASE_ROLES = [
    ("data_admin", "数据管理员", "管理本单位的数据资源、目录与共享事项"),
    ("clerk", "业务经办人", "受理和办理本单位的业务"),
    ("reviewer", "审核人", "审核本单位经办人提交的事项"),
]


def add_roles(apps, schema_editor):
    BusinessRole = apps.get_model("directory", "BusinessRole")
    for code, name, description in BASE_ROLES:
        BusinessRole.objects.update_or_create(
            code=code, defaults={"name": name, "app_label": "directory", "description": description}
        )


def remove_roles(apps, schema_editor):
    BusinessRole = apps.get_model("directory", "BusinessRole")
    BusinessRole.objects.filter(code__in=[c for c, _, _ in BASE_ROLES], grants__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("directory", "0001_initial")]

    operations = [migrations.RunPython(add_roles, remove_roles)]
