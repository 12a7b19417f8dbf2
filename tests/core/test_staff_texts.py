"""Pages meant for staff show what staff can do, not internal command lines or stale notices."""

from __future__ import annotations

import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "zhengwu"
TEMPLATES = sorted(p for p in SRC.rglob("templates/**/*.html"))
COMMAND_LINES = [
    re.compile(r"\bzhengwu\s+(?!政务平台)[a-z_]+"),  # the platform's CLI: zhengwu ingest, zhengwu audit verify
    re.compile(r"manage\.py"),
    re.compile(r"\bmake\s+[a-z]"),
    re.compile(r"(?<![\w-])--[a-z][a-z-]+"),  # a command-line option
    re.compile(r"\bZHENGWU_[A-Z_]+"),  # an environment variable of the deployment
]
STALE = ["尚未上线", "未上线", "暂未开放", "即将上线", "（datahub）报告"]


def _text(path: Path) -> str:
    # Template comments and tags are not shown; the text and attribute values are.
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"{#.*?#}", "", text, flags=re.S)
    return re.sub(r"{%.*?%}", "", text, flags=re.S)


def test_templates_are_scanned() -> None:
    names = {p.name for p in TEMPLATES}
    assert {"verify.html", "index.html", "unit_tree.html", "user_form.html", "stats.html"} <= names


def test_no_internal_command_lines_on_staff_pages() -> None:
    found = [
        f"{p.relative_to(SRC)}: {m.group(0)}"
        for p in TEMPLATES
        for pattern in COMMAND_LINES
        for m in pattern.finditer(_text(p))
    ]
    assert found == []


def test_no_stale_notices() -> None:
    found = [f"{p.relative_to(SRC)}: {s}" for p in TEMPLATES for s in STALE if s in _text(p)]
    assert found == []
