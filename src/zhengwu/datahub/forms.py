"""Forms of the data collection pages. They only shape input; the rules are checked by
`services` (a DomainError is put back on the field it names, see `add_domain_error`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import forms

from zhengwu.core import limits
from zhengwu.core.errors import DomainError

from .constants import FILE_FORMATS, FileEncoding, LoadMode, RuleKind

ACCEPT = ",".join(sorted(FILE_FORMATS))


def _required(label: str) -> dict[str, str]:
    return {"required": f"请填写{label}"}


def add_domain_error(form: forms.Form, exc: DomainError, aliases: dict[str, str] | None = None) -> None:
    """Show a service's refusal on the form field it names (or above the form)."""
    name = (exc.field or "").removeprefix("params.")
    name = (aliases or {}).get(name, name)
    if name in form.fields:
        form.add_error(name, exc.message)
    else:
        form.add_error(None, exc.message)


class UploadForm(forms.Form):
    file = forms.FileField(
        label="数据文件", error_messages={"required": "请选择要上传的文件", "empty": "上传的文件是空的"},
        widget=forms.ClearableFileInput(attrs={"accept": ACCEPT, "aria-label": "数据文件"}),
        help_text="CSV（UTF-8、GBK、GB18030 自动识别）、XLSX 或 JSON Lines；第一行为表头（信息项名称或字段名）",
    )
    # 增量 first and by default: a full load deletes the rows the file lacks (and waits for
    # confirmation when that is more than ZHENGWU_INGEST_FULL_DELETE_CONFIRM_SHARE of them).
    mode = forms.ChoiceField(
        label="归集方式", initial=LoadMode.INCREMENTAL,
        choices=[(LoadMode.INCREMENTAL, LoadMode.INCREMENTAL.label), (LoadMode.FULL, "全量替换（删除文件中没有的行）")],
        error_messages={"invalid_choice": "归集方式只能是增量或全量替换", "required": "请选择归集方式"},
    )
    encoding = forms.ChoiceField(
        label="文件编码", required=False, choices=FileEncoding.choices, initial=FileEncoding.AUTO,
        error_messages={"invalid_choice": "文件编码只能是自动识别、UTF-8、GBK、GB18030 或 Big5"},
        help_text="通常自动识别即可；表头显示为乱码时请选择文件的实际编码（如繁体的 Big5）",
    )


class CorrectionForm(forms.Form):
    file = forms.FileField(
        label="补正后的文件", error_messages={"required": "请选择补正后的文件", "empty": "上传的文件是空的"},
        widget=forms.ClearableFileInput(attrs={"accept": ACCEPT, "aria-label": "补正后的文件"}),
        help_text="可直接改正下载的隔离行 CSV 后上传（行号、错误原因两列自动去掉），也可上传只含改正行的原格式文件；按主键增量更新",
    )


class RollbackForm(forms.Form):
    version = forms.TypedChoiceField(label="回滚到版本", coerce=int, error_messages=_required("要回滚到的版本"))
    reason = forms.CharField(
        label="回滚原因", max_length=limits.NOTE, widget=forms.Textarea(attrs={"rows": 2}), error_messages=_required("回滚原因"),
        help_text=limits.help_text(limits.NOTE),
    )
    confirm = forms.BooleanField(
        label="我确认回滚：将以所选版本的内容形成一个新版本", error_messages={"required": "请勾选确认回滚"}
    )

    def __init__(self, *args: Any, versions: Iterable[int] = (), **kwargs: Any):
        super().__init__(*args, **kwargs)
        field = self.fields["version"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = [("", "——请选择——"), *((v, f"v{v}") for v in versions)]


COMPARE_OPS = [("<", "小于 <"), ("<=", "小于等于 ≤"), ("=", "等于 ="), ("!=", "不等于 ≠"), (">=", "大于等于 ≥"), (">", "大于 >")]

# Which parameters each rule kind needs (form field → params key).
RULE_PARAMS: dict[str, dict[str, str]] = {
    RuleKind.PATTERN: {"pattern": "pattern"},
    RuleKind.RANGE: {"min_value": "min", "max_value": "max"},
    RuleKind.ID_BIRTHDATE: {"id_field": "id_field"},
    RuleKind.COMPARE: {"op": "op", "other": "other"},
    RuleKind.REFERENCE: {"ref_resource": "resource_code", "ref_key": "key"},
}
RULE_ALIASES = {"min": "min_value", "max": "max_value", "resource_code": "ref_resource", "key": "ref_key"}


class RuleForm(forms.Form):
    kind = forms.ChoiceField(label="规则类型", choices=RuleKind.choices, error_messages=_required("规则类型"))
    field = forms.ChoiceField(label="检查的字段", error_messages=_required("检查的字段"))
    pattern = forms.CharField(
        label="正则表达式（格式）", required=False, max_length=300,
        help_text="整值须匹配，如 ^1[3-9][0-9]{9}$",
    )
    min_value = forms.CharField(label="最小值（范围）", required=False, max_length=40, help_text="数字或日期 YYYY-MM-DD，含边界；可只填一端")
    max_value = forms.CharField(label="最大值（范围）", required=False, max_length=40)
    id_field = forms.ChoiceField(label="身份号码字段（出生日期一致）", required=False)
    op = forms.ChoiceField(label="比较（字段比较）", required=False, choices=[("", "——"), *COMPARE_OPS])
    other = forms.ChoiceField(label="与之比较的字段", required=False)
    ref_resource = forms.CharField(label="引用的资源代码（引用）", required=False, max_length=40, help_text="如 101002/00001")
    ref_key = forms.CharField(label="该资源的主键字段", required=False, max_length=64)
    message = forms.CharField(label="不通过时的提示（可空）", required=False, max_length=200, help_text=limits.help_text(200))

    def __init__(self, *args: Any, columns: Iterable[tuple[str, str]] = (), **kwargs: Any):
        super().__init__(*args, **kwargs)
        options = [(name, f"{label}（{name}）") for name, label in columns]
        for name in ("field", "id_field", "other"):
            field = self.fields[name]
            assert isinstance(field, forms.ChoiceField)
            field.choices = [("", "——请选择——"), *options]

    def params(self) -> dict[str, str]:
        """The parameters of the chosen kind only (empty ones left out)."""
        data = self.cleaned_data
        out = {}
        for form_field, key in RULE_PARAMS.get(data["kind"], {}).items():
            value = (data.get(form_field) or "").strip()
            if value:
                out[key] = value
        return out


class SourceForm(forms.Form):
    name = forms.CharField(label="来源名称", max_length=100, error_messages=_required("来源名称"), help_text="如 人口库前置机")
    url = forms.CharField(
        label="数据库连接地址（SQLAlchemy URL）", max_length=1000, error_messages=_required("数据库连接地址"),
        widget=forms.PasswordInput(attrs={"autocomplete": "off", "placeholder": "postgresql+psycopg://用户:口令@主机:5432/库"}),
        help_text="PostgreSQL 或 MySQL/MariaDB；主机和端口须在安全管理员的出站白名单中。含口令，SM4 加密保存，页面上只显示隐去口令的地址；出错时需重新填写",
    )
    table = forms.CharField(label="表名", required=False, max_length=200, help_text="表名和查询语句二选一，如 public.people")
    query = forms.CharField(
        label="查询语句", required=False, widget=forms.Textarea(attrs={"rows": 3}), max_length=limits.QUERY,
        help_text=limits.help_text(limits.QUERY, "只读的 SELECT 语句，与表名二选一"),
    )
    mode = forms.ChoiceField(label="抽取方式", choices=LoadMode.choices, initial=LoadMode.FULL)
    watermark_column = forms.CharField(
        label="增量标识列", required=False, max_length=100, help_text="增量抽取时必填：更新时间或自增编号，只抽取比上次更大的行"
    )
    scheduled = forms.BooleanField(label="按目录的更新周期自动抽取", required=False, initial=True)


class TokenForm(forms.Form):
    unit = forms.TypedChoiceField(label="单位", coerce=int, error_messages=_required("单位"))
    name = forms.CharField(label="使用该令牌的系统", max_length=100, error_messages=_required("使用该令牌的系统名称"))
    resource_codes = forms.MultipleChoiceField(
        label="可推送的资源", required=False, widget=forms.CheckboxSelectMultiple,
        help_text="不选则可推送本单位全部资源",
    )

    def __init__(
        self, *args: Any, units: Iterable[tuple[int, str]] = (), resources: Iterable[tuple[str, str]] = (), **kwargs: Any
    ):
        super().__init__(*args, **kwargs)
        unit_field = self.fields["unit"]
        assert isinstance(unit_field, forms.TypedChoiceField)
        unit_field.choices = list(units)
        codes = self.fields["resource_codes"]
        assert isinstance(codes, forms.MultipleChoiceField)
        codes.choices = [(code, f"{code} {name}") for code, name in resources]
