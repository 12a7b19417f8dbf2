"""The portal's themes (主题, from opendata/themes.py as of this migration) and the business role
开放数据审核员 (reviews applications for 有条件开放 data of its unit)."""

from django.db import migrations

THEMES = [
    ("economy", "经济建设", "市场主体、信用、价格、财政税收与统计指标",
     ["1-02", "1-04", "2-06", "2-07", "2-08", "3-02", "3-04", "3-08", "3-16", "3-20", "3-21", "3-23"], "ECON"),
    ("health", "医疗卫生", "医疗机构、定点医药机构与健康保障", ["2-02", "3-18", "3-22"], "HEAL"),
    ("social", "社会民生", "社会保障、养老服务、民政与社区", ["2-03", "2-10", "3-06", "3-09"], "SOCI"),
    ("education", "教育文化", "学校、文化和旅游", ["3-03", "3-17"], "EDUC"),
    ("environment", "生态环境", "空气、水质、排污与水利", ["2-11", "3-11", "3-14"], "ENVI"),
    ("transport", "交通出行", "道路运输、公交线路与站点", ["3-13"], "TRAN"),
    ("urban", "城建住房", "建设工程、商品房、地名地址与空间地理", ["1-03", "2-09", "3-10", "3-12"], "REGI"),
    ("safety", "公共安全", "食品药品安全、安全生产、应急与司法", ["2-04", "2-05", "2-12", "3-05", "3-07", "3-19"], "JUST"),
    ("agriculture", "农业农村", "农业、农村与补贴", ["3-15"], "AGRI"),
    ("government", "政府机构与公共服务", "机构、电子证照目录、政务服务与数据管理",
     ["1-01", "1-05", "2-01", "3-01", "3-24", "3-99"], "GOVE"),
]
ROLES = [("opendata_reviewer", "开放数据审核员", "审核本单位有条件开放数据的使用申请，答复数据集的纠错和需求留言")]


def forward(apps, schema_editor):
    Theme = apps.get_model("opendata", "Theme")
    for order, (code, name, description, classes, eu) in enumerate(THEMES):
        Theme.objects.update_or_create(code=code, defaults={
            "name": name, "description": description, "class_codes": classes, "eu_theme": eu, "order": order * 10,
        })
    BusinessRole = apps.get_model("directory", "BusinessRole")
    for code, name, description in ROLES:
        BusinessRole.objects.update_or_create(
            code=code, defaults={"name": name, "app_label": "opendata", "description": description}
        )


def backward(apps, schema_editor):
    apps.get_model("opendata", "Theme").objects.all().delete()
    BusinessRole = apps.get_model("directory", "BusinessRole")
    BusinessRole.objects.filter(code__in=[c for c, _, _ in ROLES], grants__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("opendata", "0001_initial"), ("directory", "0002_base_business_roles")]

    operations = [migrations.RunPython(forward, backward)]
