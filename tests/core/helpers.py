"""Builders for valid code values in tests.

Check characters are computed with python-stdnum's functions (an implementation independent of
zhengwu.core.validators), so a test never checks our code against itself.
"""

from __future__ import annotations

from stdnum.cn import ric as stdnum_ric
from stdnum.cn import uscc as stdnum_uscc


def resident_id(area: str, birth: str, sequence: str = "001") -> str:
    """A resident identity number with a correct check character (birth as YYYYMMDD)."""
    body = area + birth + sequence
    assert len(body) == 17, body
    return body + stdnum_ric.calc_check_digit(body + "0")


def uscc(body17: str) -> str:
    """A credit code with a correct check character for the first 17 characters."""
    assert len(body17) == 17, body17
    return body17 + stdnum_uscc.calc_check_digit(body17)
