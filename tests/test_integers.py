"""pyipc.integers: the one set of rules for pids, counts and other whole numbers."""

import re

import pytest

from pyipc.errors import UsageError
from pyipc.integers import COUNT_MAX, PID_MAX, InvalidNumber, Problem, parse_count, parse_int, parse_pid


@pytest.mark.parametrize("text, value", [("1", 1), ("4321", 4321), ("007", 7), (str(PID_MAX), PID_MAX)])
def test_pids(text, value):
    assert parse_pid(text) == value


@pytest.mark.parametrize("text, problem", [
    ("0", Problem.OUT_OF_RANGE), (str(PID_MAX + 1), Problem.OUT_OF_RANGE), ("9" * 5000, Problem.OUT_OF_RANGE),
    ("+5", Problem.NOT_A_NUMBER), (" 5", Problem.NOT_A_NUMBER), ("5 ", Problem.NOT_A_NUMBER),
    ("-5", Problem.NOT_A_NUMBER), ("1_000", Problem.NOT_A_NUMBER), ("0x10", Problem.NOT_A_NUMBER),
    ("", Problem.NOT_A_NUMBER), ("5.0", Problem.NOT_A_NUMBER),
    # int() takes the first two, str.isdigit() all three
    ("\u0665", Problem.NOT_A_NUMBER), ("\uff15", Problem.NOT_A_NUMBER), ("\u00b2", Problem.NOT_A_NUMBER),
])
def test_bad_pids(text, problem):
    with pytest.raises(InvalidNumber) as caught:
        parse_pid(text)
    error = caught.value
    assert isinstance(error, UsageError)
    assert (error.kind, error.text, error.problem, error.low, error.high) == ("pid", text, problem, 1, PID_MAX)
    assert str(error).startswith(f"invalid pid '{text}' ({problem.value}")


@pytest.mark.parametrize("text, value", [("0", 0), ("3", 3), (str(COUNT_MAX), COUNT_MAX)])
def test_counts(text, value):
    assert parse_count(text) == value


@pytest.mark.parametrize("text", ["-1", "+1", " 1", "\u0663", "\u00b3", str(COUNT_MAX + 1), "1e3", "x"])
def test_bad_counts(text):
    with pytest.raises(InvalidNumber, match=re.escape(f"invalid count '{text}'")):
        parse_count(text)


def test_signed_only_where_negative_is_in_range():
    assert parse_int("-7", "target", -10, 10) == -7 and parse_int("0", "target", -10, 10) == 0
    for text in ("+7", "--7", "- 7", "-\u0667", "-11"):
        with pytest.raises(InvalidNumber):
            parse_int(text, "target", -10, 10)
