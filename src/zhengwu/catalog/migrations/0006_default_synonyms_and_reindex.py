"""The default 检索同义词 (what staff type → what the catalog calls it), and the search index
rebuilt for every live entry so that it carries the new fields (provider names and short names,
classification names, whole item names, character bigrams)."""

from __future__ import annotations

from typing import Any

from django.db import migrations

DEFAULT_SYNONYMS = [
    ("社保", "社会保险", "简称"),
    ("医保", "医疗保险", "简称"),
    ("医保", "医疗保障", "简称"),
    ("驾照", "驾驶证", "俗称"),
    ("驾照", "驾驶人", "俗称"),
    ("司机", "驾驶人", "俗称"),
    ("房产证", "不动产权证书", "旧称"),
    ("房产证", "不动产", "旧称"),
    ("身份证", "居民身份证", "简称"),
    ("身份证", "公民身份号码", "证件与号码"),
    ("身份证号", "公民身份号码", "俗称"),
    ("户口", "户籍", "俗称"),
    ("户口本", "户籍", "俗称"),
    ("营业执照", "市场主体", "证照与登记"),
    ("营业执照", "企业登记", "证照与登记"),
    ("工商登记", "市场主体登记", "旧称"),
    ("信用代码", "统一社会信用代码", "简称"),
    ("低保", "最低生活保障", "简称"),
    ("特困", "特困供养", "简称"),
    ("公积金", "住房公积金", "简称"),
    ("车牌", "机动车号牌", "俗称"),
    ("车牌", "号牌号码", "俗称"),
    ("出生证", "出生医学证明", "简称"),
    ("结婚证", "婚姻登记", "证件与登记"),
    ("离婚证", "婚姻登记", "证件与登记"),
    ("残疾证", "残疾人证", "简称"),
    ("公租房", "公共租赁住房", "简称"),
    ("疫苗", "预防接种", "俗称"),
    ("打疫苗", "预防接种", "俗称"),
    ("学籍", "学生学籍", "简称"),
    ("老赖", "失信被执行人", "俗称"),
    ("黑名单", "失信", "俗称"),
    ("养老院", "养老服务机构", "俗称"),
    ("敬老院", "养老服务机构", "俗称"),
    ("药店", "零售药店", "俗称"),
    ("定点医院", "定点医药机构", "俗称"),
    ("排污证", "排污许可", "俗称"),
    ("施工证", "施工许可", "俗称"),
    ("预售证", "预售许可", "俗称"),
    ("律师证", "律师执业", "俗称"),
    ("技能证书", "职业技能等级证书", "简称"),
    ("死亡证明", "死亡登记", "俗称"),
    ("火化", "殡葬", "俗称"),
    ("税务登记", "纳税人登记", "简称"),
    ("热线", "12345", "俗称"),
    ("公交", "公交线路", "简称"),
    ("危化品", "危险化学品", "简称"),
    ("避难所", "应急避难场所", "俗称"),
    ("水质", "水质监测", "简称"),
]


def add_defaults(apps: Any, schema_editor: Any) -> None:
    SearchSynonym = apps.get_model("catalog", "SearchSynonym")
    for term, synonym, note in DEFAULT_SYNONYMS:
        SearchSynonym.objects.get_or_create(term=term, synonym=synonym, defaults={"note": f"默认：{note}"})
    CatalogIndexStat = apps.get_model("catalog", "CatalogIndexStat")
    CatalogIndexStat.objects.get_or_create(id=1)
    stat = CatalogIndexStat.objects.get(id=1)
    stat.synonyms_generation += 1
    stat.save(update_fields=["synonyms_generation"])


def remove_defaults(apps: Any, schema_editor: Any) -> None:
    SearchSynonym = apps.get_model("catalog", "SearchSynonym")
    for term, synonym, _note in DEFAULT_SYNONYMS:
        SearchSynonym.objects.filter(term=term, synonym=synonym, note__startswith="默认").delete()


def reindex(apps: Any, schema_editor: Any) -> None:
    """Every live entry's published snapshot indexed again (the tokeniser is the app's own)."""
    from collections import defaultdict

    from zhengwu.catalog.search import _field_texts

    CatalogEntry = apps.get_model("catalog", "CatalogEntry")
    CatalogEntryVersion = apps.get_model("catalog", "CatalogEntryVersion")
    CatalogTerm = apps.get_model("catalog", "CatalogTerm")
    CatalogIndexStat = apps.get_model("catalog", "CatalogIndexStat")
    live = list(CatalogEntry.objects.filter(is_live=True).select_related("provider"))
    if not live:
        return
    CatalogTerm.objects.all().delete()
    totals: dict[int, int] = defaultdict(int)
    rows = []
    for entry in live:
        version = CatalogEntryVersion.objects.filter(entry_id=entry.pk, version=entry.published_version).first()
        if version is None:
            continue
        snap = dict(version.snapshot)
        snap["provider"] = entry.provider.name
        snap["provider_short_name"] = entry.provider.short_name
        for fld, tokens in _field_texts(snap).items():
            counts: dict[str, int] = defaultdict(int)
            for token in tokens:
                counts[token] += 1
            totals[fld] += len(tokens)
            rows.extend(
                CatalogTerm(term=t, entry_id=entry.pk, field=fld, tf=tf, field_len=len(tokens)) for t, tf in counts.items()
            )
    CatalogTerm.objects.bulk_create(rows, batch_size=2000)
    stat, _ = CatalogIndexStat.objects.get_or_create(id=1)
    stat.generation += 1
    stat.entries = len({r.entry_id for r in rows})
    for fld, column in {1: "name_tokens", 2: "items_tokens", 3: "abstract_tokens", 4: "provider_tokens",
                        5: "class_tokens", 6: "ngram_tokens"}.items():
        setattr(stat, column, totals.get(fld, 0))
    stat.save()


class Migration(migrations.Migration):
    dependencies = [("catalog", "0005_search_provider_fields_and_synonyms")]

    operations = [
        migrations.RunPython(add_defaults, remove_defaults),
        migrations.RunPython(reindex, migrations.RunPython.noop),
    ]
