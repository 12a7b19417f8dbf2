"""Append-only guards on the audit tables (see zhengwu.audit.db_guards for the SQL and rules)."""

from typing import Any

from django.db import migrations


def install_guards(apps: Any, schema_editor: Any) -> None:
    from zhengwu.audit import db_guards

    db_guards.install(schema_editor.connection)


def uninstall_guards(apps: Any, schema_editor: Any) -> None:
    from zhengwu.audit import db_guards

    db_guards.uninstall(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(install_guards, uninstall_guards, elidable=False),
    ]
