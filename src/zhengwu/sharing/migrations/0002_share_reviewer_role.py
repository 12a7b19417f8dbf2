"""Register the sharing business role 共享审核员 (held in a provider unit: decides the 有条件共享
requests for that unit's data and revokes its grants)."""

from django.db import migrations

ROLES = [
    ("share_reviewer", "共享审核员", "审核其他单位对本单位数据的有条件共享申请（可缩小信息项、范围和期限，或写明理由不予共享），撤销授权"),
]


def add_roles(apps, schema_editor):
    BusinessRole = apps.get_model("directory", "BusinessRole")
    for code, name, description in ROLES:
        BusinessRole.objects.update_or_create(
            code=code, defaults={"name": name, "app_label": "sharing", "description": description}
        )


def remove_roles(apps, schema_editor):
    BusinessRole = apps.get_model("directory", "BusinessRole")
    BusinessRole.objects.filter(code__in=[c for c, _, _ in ROLES], grants__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("sharing", "0001_initial"), ("directory", "0002_base_business_roles")]

    operations = [migrations.RunPython(add_roles, remove_roles)]
