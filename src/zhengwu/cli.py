"""The `zhengwu` operator command: manage.py for an installed platform.

Examples: `zhengwu migrate`, `zhengwu load_demo_city`, `zhengwu serve`, `zhengwu audit verify`.
Every command exits non-zero on failure.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "zhengwu.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["zhengwu", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    main()
