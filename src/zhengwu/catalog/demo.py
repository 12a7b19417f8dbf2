"""The demo city's catalog: about 60 realistic entries over the base resources and the demo
departments, published as version 1. Idempotent: an entry whose name already exists for its
provider is left alone. Needs the demo city (`zhengwu load_demo_city`): units are found by name.

Data arrival is NOT faked: no entry gets `last_data_at`, so the statistics page shows no
overdue entry until the datahub reports arrivals.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from zhengwu.audit.services import record_event
from zhengwu.core.errors import DomainError
from zhengwu.directory.models import Unit

from . import search
from .models import CatalogEntry, CatalogEntryVersion
from .rules import normalise_entry, validate_entry
from .services import _next_code, _write, authority_unit, authority_unit_name, snapshot

# Items: "中文名|field_name|类型|长度|flags[|代码表/值域]" where flags: K = key (always required),
# R = required (必填), S = sensitive (masked partially); the optional sixth part is the item's code
# table in the catalog's syntax (see codetables.py) and may itself contain "|".
ID = "公民身份号码|id_no|字符|18|RS"
ID_KEY = "公民身份号码|id_no|字符|18|KS"
NAME = "姓名|person_name|字符|50|RS"
USCC = "统一社会信用代码|uscc|字符|18|K"
ORG = "单位名称|org_name|字符|200|R"
ADDR = "地址|address|字符|200|"
DIV = "行政区划代码|division_code|字符|6|R|GB/T 2260"
PHONE = "联系电话|phone|字符|20|S"
DATE = "登记日期|reg_date|日期||R"
LONGITUDE = "经度|longitude|数字|12||[73,136]"  # the extent of China's territory
LATITUDE = "纬度|latitude|数字|12||[3,54]"

# GB/T 2261.2-2003 婚姻状况代码.
MARITAL = "10=未婚;20=已婚;21=初婚;22=再婚;23=复婚;30=丧偶;40=离婚;90=未说明的婚姻状况"
# GB/T 4658-2006 学历代码, the classes.
EDUCATION = "10=研究生教育;20=大学本科教育;30=大学专科教育;40=中等职业教育;60=普通高级中学教育;70=初级中学教育;80=小学教育;90=其他"
# GB/T 4761-2008 家庭关系代码, the classes.
RELATION = "01=本人;02=户主;10=配偶;20=子;30=女;40=孙辈;50=父母;60=祖父母或外祖父母;70=兄弟姐妹;80=其他亲属;99=非亲属"
# GB/T 26341-2010 残疾人残疾分类和分级.
DISABILITY_TYPE = "1=视力残疾;2=听力残疾;3=言语残疾;4=肢体残疾;5=智力残疾;6=精神残疾;7=多重残疾"
DISABILITY_GRADE = "1=一级;2=二级;3=三级;4=四级"

POPULATION_ITEMS = [
    ID_KEY,
    NAME,
    "曾用名|former_name|字符|50|S",
    "性别|gender|字符|1|R|GB/T 2261.1",
    "民族|ethnicity|字符|2|R|GB/T 3304",
    "出生日期|birth_date|日期||RS|[1900-01-01,]",
    "出生地|birthplace_code|字符|6||GB/T 2260",
    "籍贯|native_place|字符|100|",
    f"文化程度|education|字符|2||{EDUCATION}",
    f"婚姻状况|marital_status|字符|2||{MARITAL}",
    "职业|occupation|字符|100|",
    "服务处所|workplace|字符|200|",
    PHONE,
    "户籍地址|household_address|字符|200|RS",
    "现住址|current_address|字符|200|S",
    DIV,
    "户号|household_no|字符|20|R",
    "户口类别|household_type|字符|1|R|1=家庭户;2=集体户",
    "户主身份号码|householder_id_no|字符|18|RS",
    f"与户主关系|relation_to_head|字符|2|R|{RELATION}",
    "户籍登记日期|household_reg_date|日期||R",
]

LEGAL = "《中华人民共和国个人信息保护法》第十三条、第三十四条"
CLASSIFIED_BASIS = "《中华人民共和国数据安全法》第二十一条及本市公共数据分类分级规定"

# (provider keyword, 类, 项, name, format, share, open, cycle, abstract, items)
SPECS: list[tuple[str, str, str, str, str, str, str, str, str, list[str]]] = [
    # --- 基础信息资源 ------------------------------------------------------------------------
    ("公安", "1", "01", "人口基本信息", "数据库", "无条件共享", "不予开放", "每日",
     "全市户籍人口和登记常住人口的身份、户籍和迁移变动信息，是人口基础库的权威来源，用于政务服务身份核验。",
     POPULATION_ITEMS),
    ("公安", "1", "01", "居住证信息", "数据库", "无条件共享", "不予开放", "每日",
     "流动人口申领居住证的登记、签注和有效期信息，用于积分入学、公共服务均等化等事项。",
     ["居住证编号|permit_no|字符|30|K", ID, NAME, "居住地址|residence_address|字符|200|RS", "签发日期|issue_date|日期||R",
      "有效期至|valid_until|日期||R", "签注状态|endorsement|字符|1||1=有效;2=待签注;3=已失效"]),
    ("民政", "1", "01", "婚姻登记信息", "数据库", "无条件共享", "不予开放", "每日",
     "结婚、离婚、补领婚姻登记证的登记记录，用于不动产登记、公积金提取等事项免交婚姻证明。",
     ["登记证号|certificate_no|字符|30|K", "男方身份号码|male_id_no|字符|18|RS", "女方身份号码|female_id_no|字符|18|RS",
      "登记类型|reg_type|字符|2|R|1=结婚登记;2=离婚登记;3=补领结婚证;4=补领离婚证", DATE,
      "登记机关|reg_authority|字符|200|R"]),
    ("卫生健康", "1", "01", "出生医学证明信息", "数据库", "无条件共享", "不予开放", "每日",
     "新生儿出生医学证明签发信息，支撑出生一件事联办（落户、医保参保、预防接种）。",
     ["出生医学证明编号|birth_cert_no|字符|20|K", "新生儿姓名|baby_name|字符|50|S", "新生儿性别|baby_gender|字符|1|R|GB/T 2261.1",
      "出生时间|birth_time|日期时间||R", "出生地点|birth_division|字符|6|R|GB/T 2260",
      "母亲身份号码|mother_id_no|字符|18|RS", "父亲身份号码|father_id_no|字符|18|S", "签发机构|issuer|字符|200|R"]),
    ("民政", "1", "01", "死亡登记信息", "数据库", "无条件共享", "不予开放", "每日",
     "居民死亡医学证明和火化登记信息，用于社保待遇停发、户籍注销等联办事项。",
     [ID_KEY, NAME, "死亡日期|death_date|日期||R", "火化机构|crematorium|字符|200|"]),
    ("市场监", "1", "02", "市场主体登记信息", "数据库", "无条件共享", "无条件开放", "实时",
     "企业、个体工商户、农民专业合作社设立、变更、注销登记信息，是法人基础库的主要来源。",
     [USCC, "市场主体名称|ent_name|字符|200|R", "市场主体类型|ent_type|字符|1|R|1=企业;2=个体工商户;3=农民专业合作社",
      "法定代表人|legal_person|字符|50|R", "注册资本（万元）|reg_capital|数字|18||[0,]", "成立日期|est_date|日期||R",
      "登记状态|reg_status|字符|2|R|1=存续;2=在业;3=吊销;4=注销;5=迁出", "登记机关|reg_authority|字符|200|R",
      "住所|address|字符|200|R", DIV]),
    ("民政", "1", "02", "社会组织登记信息", "数据库", "无条件共享", "无条件开放", "每日",
     "社会团体、民办非企业单位和基金会的登记、年检和评估等级信息。",
     [USCC, ORG, "组织类型|org_type|字符|2|R|1=社会团体;2=民办非企业单位;3=基金会", "业务主管单位|supervisor|字符|200|", DATE]),
    ("编办", "1", "02", "机关事业单位登记信息", "数据库", "无条件共享", "无条件开放", "每月",
     "机关、事业单位的法人登记、宗旨和业务范围、举办单位信息。",
     [USCC, ORG, "单位类型|unit_type|字符|1|R|1=机关;2=事业单位", "举办单位|sponsor|字符|200|", "宗旨和业务范围|scope|字符|1000|", DATE]),
    ("自然资源", "1", "03", "不动产登记信息", "数据库", "无条件共享", "不予开放", "实时",
     "土地、房屋等不动产的权利人、坐落、面积和权利状态信息，用于二手房交易、子女入学等核验。",
     ["不动产单元号|unit_no|字符|28|K", "权利人|owner_name|字符|100|RS", "权利人证件号|owner_id|字符|18|RS", "坐落|location|字符|200|R",
      "建筑面积|floor_area|数字|12||[0,]", "权利状态|right_status|字符|2|R|1=现势;2=历史;3=注销", DIV]),
    ("自然资源", "1", "03", "基础地理信息（1:2000 地形图）", "图形图像", "无条件共享", "有条件开放", "每年",
     "全市 1:2000 比例尺数字线划图、数字正射影像，用于规划、建设和应急管理。",
     []),
    ("自然资源", "1", "03", "国土空间规划“一张图”", "服务接口", "无条件共享", "有条件开放", "每季度",
     "国土空间总体规划、详细规划和控制线的空间数据服务。",
     ["图斑编号|patch_no|字符|30|K", "用地类型|land_use|字符|10|R", "面积|area|数字|14|R|[0,]", DIV]),
    ("自然资源", "1", "03", "地名地址信息", "数据库", "无条件共享", "无条件开放", "每月",
     "标准地名、门牌地址及其坐标，用于地址标准化和空间落图。",
     ["地址编码|addr_code|字符|30|K", "标准地址|std_address|字符|200|R", LONGITUDE, LATITUDE, DIV]),
    ("发展和改革", "1", "04", "公共信用信息", "数据库", "无条件共享", "有条件开放", "每日",
     "市场主体的行政许可、行政处罚、守信激励和失信惩戒等公共信用信息。",
     ["记录编号|record_no|字符|40|K", "统一社会信用代码|uscc|字符|18|R", "信息类别|info_type|字符|4|R|1=行政许可;2=行政处罚;3=守信激励;4=失信惩戒",
      "认定部门|authority|字符|200|R", "认定日期|decide_date|日期||R"]),
    ("发展和改革", "1", "04", "信用承诺信息", "数据库", "无条件共享", "无条件开放", "每日",
     "市场主体在办理行政审批等事项时作出的信用承诺及履约情况。",
     ["承诺编号|promise_no|字符|40|K", "统一社会信用代码|uscc|字符|18|R", "承诺事项|matter|字符|200|R",
      "履约状态|status|字符|2|R|1=履约中;2=已履约;3=未履约"]),
    ("法院", "1", "04", "失信被执行人信息", "数据库", "无条件共享", "无条件开放", "每日",
     "被人民法院依法纳入失信被执行人名单的自然人和法人信息，用于联合惩戒。",
     ["案号|case_no|字符|50|K", "被执行人名称|party_name|字符|200|R", "证件号码|party_id|字符|18|RS", "失信情形|breach|字符|500|R",
      "发布日期|publish_date|日期||R"]),
    ("大数据", "1", "05", "电子证照目录信息", "数据库", "无条件共享", "不予开放", "实时",
     "全市签发电子证照的目录信息（证照类型、持证主体、有效期），支撑“免证办”。",
     ["证照标识|licence_id|字符|60|K", "证照类型代码|licence_type|字符|20|R", "持证主体代码|holder_code|字符|18|RS",
      "持证主体名称|holder_name|字符|200|R", "签发日期|issue_date|日期||R", "有效期至|valid_until|日期||"]),
    ("公安", "1", "05", "居民身份证电子证照", "服务接口", "无条件共享", "不予开放", "实时",
     "居民身份证电子证照的核验与亮证服务接口，按“一数一源”由公安部门提供。",
     [ID, NAME, "有效期限|valid_period|字符|30|R"]),
    ("市场监", "1", "05", "营业执照电子证照", "服务接口", "无条件共享", "无条件开放", "实时",
     "营业执照电子证照的获取与核验接口。",
     [USCC, "名称|ent_name|字符|200|R", "登记机关|reg_authority|字符|200|R"]),
    ("住房", "1", "05", "不动产权证书电子证照", "服务接口", "无条件共享", "不予开放", "实时",
     "不动产权证书电子证照的核验接口。",
     ["证书号|cert_no|字符|40|K", "权利人|owner_name|字符|100|RS", "坐落|location|字符|200|R"]),
    # --- 主题信息资源 ------------------------------------------------------------------------
    ("人力资源", "2", "03", "社会保险参保信息", "数据库", "无条件共享", "不予开放", "每日",
     "职工养老、失业、工伤保险的参保登记、缴费基数和缴费状态，用于就业、人才、落户等核验。",
     [ID_KEY, NAME, "险种|insurance_type|字符|3|", "参保状态|status|字符|2|", "缴费基数|base_amount|数字|12|", "参保单位|employer|字符|200|"]),
    ("人力资源", "2", "03", "就业失业登记信息", "数据库", "无条件共享", "不予开放", "每日",
     "劳动者就业登记、失业登记和就业困难人员认定信息。",
     ["登记编号|reg_no|字符|30|K", "身份号码|id_no|字符|18|S", "登记类型|reg_type|字符|2|", DATE]),
    ("医疗保障", "2", "02", "基本医疗保险参保信息", "数据库", "无条件共享", "不予开放", "每日",
     "职工和城乡居民基本医疗保险参保、缴费和待遇享受状态。",
     [ID_KEY, NAME, "参保类别|category|字符|2|", "参保状态|status|字符|2|", "参保地|insured_division|字符|6|R|GB/T 2260"]),
    ("医疗保障", "2", "02", "定点医药机构信息", "数据库", "无条件共享", "无条件开放", "每月",
     "医保定点医疗机构和零售药店的名称、地址、等级和服务范围。",
     [USCC, ORG, ADDR, "机构等级|grade|字符|4|", "协议状态|agreement_status|字符|2|"]),
    ("卫生健康", "2", "02", "医疗机构执业登记信息", "数据库", "无条件共享", "无条件开放", "每月",
     "医疗机构的执业许可、诊疗科目、床位数和校验信息。",
     ["执业许可证号|licence_no|字符|40|K", ORG, ADDR, "诊疗科目|departments|字符|1000|", "床位数|beds|数字|6|"]),
    ("卫生健康", "2", "02", "预防接种记录", "数据库", "有条件共享", "不予开放", "实时",
     "儿童和成人的疫苗接种记录，用于入托入学查验和疾病防控。",
     ["接种记录号|record_no|字符|40|K", "受种者身份号码|id_no|字符|18|S", "疫苗名称|vaccine|字符|100|", "接种日期|vacc_date|日期||"]),
    ("民政", "2", "03", "最低生活保障对象信息", "数据库", "有条件共享", "不予开放", "每月",
     "城乡低保、特困供养对象的认定和救助金发放信息。",
     [ID_KEY, NAME, "救助类别|aid_type|字符|2|", "保障人数|members|数字|3|", "月救助金额|monthly_amount|数字|10|", DIV]),
    ("民政", "2", "03", "养老服务机构信息", "数据库", "无条件共享", "无条件开放", "每季度",
     "养老院、日间照料中心等养老服务机构的备案、床位和服务质量等级。",
     [USCC, ORG, ADDR, "床位数|beds|数字|6|", "等级|grade|字符|2|"]),
    ("残联", "2", "03", "残疾人证信息", "数据库", "有条件共享", "不予开放", "每月",
     "残疾人证的办理、残疾类别和等级，用于补贴发放和无障碍服务。",
     ["残疾人证号|card_no|字符|20|K", NAME, f"残疾类别|disability_type|字符|2|R|{DISABILITY_TYPE}", f"残疾等级|grade|字符|1|R|{DISABILITY_GRADE}"]),
    ("市场监", "2", "04", "食品生产经营许可信息", "数据库", "无条件共享", "无条件开放", "每日",
     "食品生产许可、食品经营许可的核发、变更和注销信息。",
     ["许可证编号|licence_no|字符|20|K", "经营者名称|operator|字符|200|", "统一社会信用代码|uscc|字符|18|", "经营项目|items|字符|500|", "有效期至|valid_until|日期||"]),
    ("市场监", "2", "04", "食品安全抽检信息", "电子表格", "无条件共享", "无条件开放", "每月",
     "食品安全监督抽检的样品、检验项目和结论。",
     ["抽样编号|sample_no|字符|30|K", "食品名称|food_name|字符|100|", "被抽样单位|sampled_unit|字符|200|", "检验结论|conclusion|字符|10|", "抽样日期|sample_date|日期||"]),
    ("市场监", "2", "04", "药品零售企业许可信息", "数据库", "无条件共享", "无条件开放", "每周",
     "药品经营许可证（零售）核发和变更信息。",
     ["许可证编号|licence_no|字符|20|K", "企业名称|ent_name|字符|200|", ADDR, "质量负责人|qa_person|字符|50|"]),
    ("应急管理", "2", "05", "危险化学品企业信息", "数据库", "有条件共享", "不予开放", "每月",
     "危险化学品生产、经营、储存企业的许可、重大危险源和应急预案信息。",
     [USCC, ORG, "重大危险源等级|hazard_level|字符|1||1=一级;2=二级;3=三级;4=四级", "许可证号|licence_no|字符|30|", LONGITUDE, LATITUDE]),
    ("应急管理", "2", "05", "安全生产执法检查信息", "数据库", "无条件共享", "有条件开放", "每周",
     "安全生产执法检查计划、检查结果和整改情况。",
     ["检查编号|check_no|字符|30|K", "被检查单位|inspected|字符|200|", "检查日期|check_date|日期||", "发现问题数|issues|数字|4|", "整改状态|status|字符|2|"]),
    ("发展和改革", "2", "06", "重要商品和服务价格监测信息", "电子表格", "无条件共享", "无条件开放", "每周",
     "粮油、肉禽蛋菜等重要民生商品的价格监测数据。",
     ["监测编号|monitor_no|字符|30|K", "商品名称|goods|字符|50|", "规格|spec|字符|50|", "价格（元）|price|数字|10|", "监测日期|monitor_date|日期||"]),
    ("发展和改革", "2", "07", "重点用能单位能耗信息", "数据库", "有条件共享", "不予开放", "每月",
     "年综合能耗 5000 吨标准煤以上重点用能单位的能耗在线监测数据。",
     [USCC, ORG, "综合能耗（吨标煤）|energy|数字|14|", "统计月份|stat_month|字符|7|"]),
    ("住房", "2", "09", "建设工程施工许可信息", "数据库", "无条件共享", "无条件开放", "每日",
     "房屋建筑和市政基础设施工程施工许可证核发信息。",
     ["施工许可证编号|permit_no|字符|30|K", "工程名称|project|字符|200|", "建设单位|builder|字符|200|", "合同价格（万元）|contract_price|数字|14|", "发证日期|issue_date|日期||"]),
    ("住房", "2", "09", "商品房预售许可信息", "数据库", "无条件共享", "无条件开放", "每日",
     "商品房预售许可的项目、楼栋、套数和面积。",
     ["预售许可证号|presale_no|字符|30|K", "项目名称|project|字符|200|", "开发企业|developer|字符|200|", "预售套数|units|数字|6|"]),
    ("住房", "2", "09", "公共租赁住房保障信息", "数据库", "有条件共享", "不予开放", "每月",
     "公租房申请、轮候、配租和退出信息。",
     ["申请编号|apply_no|字符|30|K", ID, "家庭人数|members|数字|2|", "保障状态|status|字符|2|"]),
    ("民政", "2", "10", "城乡社区信息", "数据库", "无条件共享", "无条件开放", "每年",
     "街道（乡镇）、社区（村）的名称、代码、边界和居委会信息。",
     ["统计用区划代码|stat_code|字符|12|K", "社区名称|community|字符|100|", "所属街道|township|字符|100|", "户数|households|数字|8|"]),
    ("生态环境", "2", "11", "空气质量监测信息", "数据库", "无条件共享", "无条件开放", "实时",
     "国控、省控空气质量监测站点的 AQI、PM2.5、PM10、臭氧等小时数据。",
     ["站点编码|station_code|字符|10|K", "监测时间|monitor_time|日期时间||R", "AQI|aqi|数字|4||[0,500]", "PM2.5|pm25|数字|6|", "PM10|pm10|数字|6|", "臭氧|o3|数字|6|"]),
    ("生态环境", "2", "11", "排污许可信息", "数据库", "无条件共享", "无条件开放", "每日",
     "排污单位的排污许可证核发、排放口和许可排放量。",
     ["许可证编号|permit_no|字符|30|K", "排污单位|polluter|字符|200|", "统一社会信用代码|uscc|字符|18|", "行业类别|industry|字符|100|", "有效期至|valid_until|日期||"]),
    ("水务", "2", "11", "河道水质监测信息", "电子表格", "无条件共享", "无条件开放", "每月",
     "主要河道断面的水质类别和主要污染物浓度。",
     ["断面编码|section_code|字符|20|K", "河流名称|river|字符|50|", "水质类别|quality_class|字符|4|R|Ⅰ类、Ⅱ类、Ⅲ类、Ⅳ类、Ⅴ类、劣Ⅴ类", "监测日期|monitor_date|日期||"]),
    ("应急管理", "2", "12", "应急避难场所信息", "数据库", "无条件共享", "无条件开放", "每年",
     "应急避难场所的位置、面积、可容纳人数和设施。",
     ["场所编码|site_code|字符|20|K", "场所名称|site_name|字符|100|", ADDR, "可容纳人数|capacity|数字|8||[0,]", LONGITUDE, LATITUDE]),
    ("应急管理", "2", "12", "应急救援物资储备信息", "数据库", "有条件共享", "不予开放", "每月",
     "各级应急物资储备库的物资品类、数量和存放地点。",
     ["物资编码|material_code|字符|30|K", "物资名称|material|字符|100|", "数量|quantity|数字|10|", "储备库|depot|字符|200|"]),
    # --- 部门信息资源 ------------------------------------------------------------------------
    ("公安", "3", "05", "机动车登记信息", "数据库", "无条件共享", "不予开放", "每日",
     "机动车注册、转移、抵押和注销登记信息。",
     ["号牌号码|plate_no|字符|20|K", "车辆类型|vehicle_type|字符|4|", "所有人|owner_name|字符|100|S", "所有人证件号|owner_id|字符|18|S", "注册日期|reg_date|日期||"]),
    ("公安", "3", "05", "驾驶人信息", "数据库", "无条件共享", "不予开放", "每日",
     "机动车驾驶证的准驾车型、记分和有效期信息。",
     ["驾驶证号|licence_no|字符|18|KS", NAME, "准驾车型|vehicle_class|字符|10|", "累积记分|points|数字|2|", "有效期至|valid_until|日期||"]),
    ("公安", "3", "05", "治安案件统计", "电子文件", "不予共享", "不予开放", "每月",
     "辖区治安案件的分类统计报表，仅供公安内部研判。",
     []),
    ("民政", "3", "06", "殡葬服务机构信息", "数据库", "无条件共享", "无条件开放", "每年",
     "殡仪馆、公墓等殡葬服务机构的基本信息和收费标准。",
     [USCC, ORG, ADDR, "服务项目|services|字符|500|"]),
    ("司法", "3", "07", "律师事务所和律师执业信息", "数据库", "无条件共享", "无条件开放", "每月",
     "律师事务所执业许可和律师执业证信息。",
     ["执业证号|practice_no|字符|20|K", NAME, "所在律所|law_firm|字符|200|", "执业状态|status|字符|2|"]),
    ("财政", "3", "08", "政府采购项目信息", "数据库", "无条件共享", "无条件开放", "每日",
     "政府采购项目的预算、采购方式、中标供应商和合同金额。",
     ["项目编号|project_no|字符|40|K", "项目名称|project|字符|200|", "采购单位|buyer|字符|200|", "中标供应商|supplier|字符|200|", "合同金额（元）|amount|数字|16|"]),
    ("财政", "3", "08", "非税收入缴款信息", "数据库", "有条件共享", "不予开放", "实时",
     "行政事业性收费和罚没收入的缴款书和入库信息。",
     ["缴款书号|bill_no|字符|30|K", "缴款人|payer|字符|200|S", "项目|item|字符|100|", "金额（元）|amount|数字|14|", "缴款时间|pay_time|日期时间||"]),
    ("人力资源", "3", "09", "职业技能等级证书信息", "数据库", "无条件共享", "有条件开放", "每月",
     "职业技能等级证书的颁发信息，用于人才补贴申领。",
     ["证书编号|cert_no|字符|30|K", ID, "职业（工种）|occupation|字符|100|", "等级|level|字符|2|"]),
    ("教育", "3", "03", "中小学校基本信息", "数据库", "无条件共享", "无条件开放", "每年",
     "全市中小学校的办学许可、学段、班级数和学位数。",
     ["学校标识码|school_code|字符|10|K", "学校名称|school_name|字符|100|", ADDR, "学段|stage|字符|4|", "学位数|seats|数字|6|"]),
    ("教育", "3", "03", "学生学籍信息", "数据库", "有条件共享", "不予开放", "每半年",
     "中小学生学籍注册、转学、毕业信息，用于教育补助发放和入学核验。",
     ["全国学籍号|student_no|字符|19|K", NAME, "身份号码|id_no|字符|18|S", "就读学校|school|字符|100|", "年级|grade|字符|4|"]),
    ("交通运输", "3", "13", "道路运输经营许可信息", "数据库", "无条件共享", "无条件开放", "每日",
     "道路旅客、货物运输经营许可证和营运车辆信息。",
     ["许可证号|licence_no|字符|30|K", "经营者|operator|字符|200|", "经营范围|scope|字符|500|", "有效期至|valid_until|日期||"]),
    ("交通运输", "3", "13", "公交线路和站点信息", "自描述格式", "无条件共享", "无条件开放", "每月",
     "公交线路走向、站点位置和首末班时间（GTFS 格式）。",
     ["线路编号|route_id|字符|20|K", "线路名称|route_name|字符|50|", "首班时间|first_bus|字符|5|", "末班时间|last_bus|字符|5|"]),
    ("农业农村", "3", "15", "耕地地力保护补贴发放信息", "电子表格", "有条件共享", "不予开放", "每年",
     "耕地地力保护补贴的补贴对象、面积和金额。",
     ["发放编号|pay_no|字符|30|K", ID, "补贴面积（亩）|area|数字|10|", "补贴金额（元）|amount|数字|12|"]),
    ("税务", "3", "23", "纳税人登记信息", "数据库", "有条件共享", "不予开放", "每日",
     "纳税人税务登记、纳税信用等级和非正常户认定信息。",
     [USCC, "纳税人名称|taxpayer|字符|200|", "纳税信用等级|credit_level|字符|1||A=A级;B=B级;M=M级;C=C级;D=D级", "登记状态|status|字符|2|"]),
    ("统计", "3", "21", "国民经济主要指标", "电子表格", "无条件共享", "无条件开放", "每月",
     "地区生产总值、规上工业增加值、社会消费品零售总额等主要经济指标。",
     ["指标编码|indicator_code|字符|20|K", "指标名称|indicator|字符|100|", "统计期|period|字符|7|", "数值|value|数字|18|", "计量单位|unit|字符|10|"]),
    ("大数据", "3", "24", "政务信息系统清单", "电子表格", "有条件共享", "不予开放", "每季度",
     "全市政务信息系统的建设单位、部署位置、等保级别和数据资源情况。",
     ["系统编号|system_no|字符|20|K", "系统名称|system_name|字符|100|", "建设单位|owner|字符|200|", "等保级别|mlps_level|字符|1||1=第一级;2=第二级;3=第三级;4=第四级;5=第五级"]),
    ("大数据", "3", "24", "12345 热线工单信息", "数据库", "有条件共享", "有条件开放", "实时",
     "市民热线诉求工单的分类、承办单位、办理时限和满意度。",
     ["工单编号|ticket_no|字符|30|K", "诉求类别|category|字符|20|", "来电人电话|caller_phone|字符|20|S", "承办单位|handler|字符|200|", "办结时间|closed_at|日期时间||"]),
]


@dataclass
class DemoReport:
    created: int = 0
    existing: int = 0
    skipped: list[str] | None = None


def _find_unit(keyword: str) -> Unit | None:
    units = list(
        Unit.objects.filter(Q(name__contains=keyword) | Q(short_name__contains=keyword), is_active=True).order_by("id")
    )
    units.sort(key=lambda u: (u.level != "city", len(u.name)))
    return units[0] if units else None


def _flags(spec: str) -> str:
    return spec.split("|", 5)[4]


def _item(spec: str) -> dict[str, Any]:
    name, field_name, data_type, length, flags, *rest = spec.split("|", 5)
    unknown = set(flags) - set("KRS")
    if unknown:
        raise ValueError(f"演示信息项“{name}”的标志 {''.join(sorted(unknown))} 不认识（只有 K、R、S）")
    return {
        "name": name,
        "field_name": field_name,
        "data_type": data_type,
        "length": int(length) if length else None,
        "is_key": "K" in flags,
        "required": "K" in flags or "R" in flags,
        "is_sensitive": "S" in flags,
        "masking": "部分遮盖" if "S" in flags else "不脱敏",
        "code_table": rest[0] if rest else "",
    }


def entry_data(spec: tuple[str, str, str, str, str, str, str, str, str, list[str]]) -> dict[str, Any]:
    _kw, category, item, name, fmt, share, open_type, cycle, abstract, items = spec
    data: dict[str, Any] = {
        "category": category, "class_item": item, "class_sub": "001", "name": name, "abstract": abstract,
        "resource_format": fmt, "share_type": share, "open_type": open_type, "update_cycle": cycle,
        "share_method": "" if share == "不予共享" else "共享平台",
        "security_level": "敏感" if any("S" in _flags(s) for s in items) else "内部",
        "items": [_item(s) for s in items],
    }
    if share == "有条件共享":
        data["share_condition"] = "仅向依法履行相关职责的部门共享，按需申请、逐项审批"
        data["share_basis"] = LEGAL
    elif share == "不予共享":
        data["share_basis"] = CLASSIFIED_BASIS
    if open_type == "有条件开放":
        data["open_condition"] = "经申请审核，签订数据使用协议后开放"
        data["open_basis"] = "《本市公共数据开放管理办法》"
    elif open_type == "不予开放":
        data["open_basis"] = LEGAL if any("S" in _flags(s) for s in items) else CLASSIFIED_BASIS
    return data


def load_demo_catalog() -> DemoReport:
    authority = authority_unit()
    if authority is None:
        raise DomainError(f"演示城市尚未创建（找不到单位“{authority_unit_name()}”）：请先运行 zhengwu load_demo_city")
    report = DemoReport(skipped=[])
    assert report.skipped is not None
    now = timezone.now()
    with transaction.atomic():
        for spec in SPECS:
            keyword = "大数据" if spec[0] == "大数据" else spec[0]
            unit = authority if keyword == "大数据" else _find_unit(keyword)
            if unit is None:
                report.skipped.append(f"{spec[3]}（演示城市中没有名称含“{keyword}”的单位）")
                continue
            if CatalogEntry.objects.filter(provider=unit, name=spec[3]).exists():
                report.existing += 1
                continue
            clean = normalise_entry(entry_data(spec))
            problems = validate_entry(clean)
            if problems:
                raise DomainError(f"演示目录“{spec[3]}”不合规：{problems[0][1]}")
            class_code = f"{clean['category']}{clean['class_item']}{clean['class_sub']}{clean['class_detail']}"
            entry = CatalogEntry(provider=unit, resource_code=_next_code(class_code))
            clean["publish_date"] = timezone.localdate().isoformat()
            _write(entry, clean)
            entry.status, entry.published_version, entry.is_live = "published", 1, True
            entry.save(update_fields=["status", "published_version", "is_live"])
            snap = snapshot(entry)
            CatalogEntryVersion.objects.create(
                entry=entry, version=1, snapshot=snap, published_at=now, change_note="演示数据"
            )
            search.index_entry(entry.pk, snap)
            report.created += 1
        record_event(
            None, "catalog.demo.load", object_type="catalog_entry", object_id="demo",
            details={"created": report.created, "existing": report.existing, "skipped": report.skipped},
        )
    return report
