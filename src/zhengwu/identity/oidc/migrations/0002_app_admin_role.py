"""Register the business role 应用系统管理员 (registers and manages the unit's systems for SSO)."""

from django.db import migrations

ROLES = [
    ("app_admin", "应用系统管理员", "登记本单位的业务系统接入统一身份认证（单点登录），更换其密钥、停用启用"),
]


def add_roles(apps, schema_editor):
    BusinessRole = apps.get_model("directory", "BusinessRole")
    for code, name, description in ROLES:
        BusinessRole.objects.update_or_create(
            code=code, defaults={"name": name, "app_label": "oidc", "description": description}
        )


def remove_roles(apps, schema_editor):
    BusinessRole = apps.get_model("directory", "BusinessRole")
    BusinessRole.objects.filter(code__in=[c for c, _, _ in ROLES], grants__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("oidc", "0001_initial"), ("directory", "0002_base_business_roles")]

    operations = [migrations.RunPython(add_roles, remove_roles)]
