"""GB 11643 resident ID numbers: check digit, birth date, sex, legacy numbers, masking."""

from __future__ import annotations

import datetime as dt

import pytest

from cardgen.data.idnumber import IdNumberError, check_digit, mask_id, normalise_id, parse_id
from tests.conftest import FEMALE_ID, IMPOSSIBLE_DATE_ID, TODAY, VALID_ID, WRONG_CHECK_ID


def test_public_valid_vector_parses_with_birth_date_and_sex() -> None:
    checked = parse_id(VALID_ID, TODAY)
    assert checked.number == VALID_ID
    assert checked.birth_date == dt.date(1991, 1, 1)
    assert checked.sex == "男"
    assert not checked.legacy


def test_standard_example_with_x_check_digit_is_female() -> None:
    checked = parse_id(FEMALE_ID, TODAY)
    assert checked.birth_date == dt.date(1949, 12, 31)
    assert checked.sex == "女"


def test_wrong_check_digit_is_refused_with_a_hint() -> None:
    with pytest.raises(IdNumberError, match="check digit"):
        parse_id(WRONG_CHECK_ID, TODAY)


def test_impossible_birth_date_is_refused() -> None:
    with pytest.raises(IdNumberError, match="impossible birth date"):
        parse_id(IMPOSSIBLE_DATE_ID, TODAY)


def test_birth_date_after_the_reference_date_is_refused() -> None:
    body = "11010520300101001"
    with pytest.raises(IdNumberError, match="cannot be right"):
        parse_id(body + check_digit(body), TODAY)


def test_full_width_digits_spaces_and_lower_case_x_are_normalised() -> None:
    full_width = "１１０１０５ １９４９１２３１００２ｘ"
    assert normalise_id(full_width) == FEMALE_ID
    assert parse_id("11010519491231002x", TODAY).number == FEMALE_ID


def test_fifteen_digit_legacy_number_is_accepted_as_legacy() -> None:
    checked = parse_id("110105491231002", TODAY)
    assert checked.legacy
    assert checked.birth_date == dt.date(1949, 12, 31)
    assert checked.sex == "女"


@pytest.mark.parametrize("text", ["12345", "1101051949123100X2", "ABCDEFGHIJKLMNOPQR"])
def test_malformed_numbers_are_refused(text: str) -> None:
    with pytest.raises(IdNumberError):
        parse_id(text, TODAY)


def test_mask_keeps_the_last_four_characters() -> None:
    assert mask_id(FEMALE_ID) == "**************002X"
    assert len(mask_id(FEMALE_ID)) == 18
