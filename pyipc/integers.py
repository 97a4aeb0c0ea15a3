"""Whole numbers as every command takes them: pids, counts, signal numbers,
sigsend targets and values. One set of rules, so that a case fixed in one
command is fixed in all of them:

- ASCII digits 0-9 only: no superscripts (``²``), no other scripts' digits
  (``٥``), no ``_`` separators, all of which ``int()`` and ``str.isdigit()``
  would take (or crash on);
- no white space and no ``+``; a ``-`` only where the value may be negative;
- a range checked here, before any conversion that could overflow.
"""

from __future__ import annotations

from .errors import UsageError

TYPE_CHECKING = False  # type checkers take its branches; see Problem below

__all__ = ["InvalidNumber", "Problem", "parse_int", "parse_pid", "parse_count", "parse_fd", "parse_size", "PID_MAX",
           "COUNT_MAX", "FD_MAX", "SIZE_MAX"]

PID_MAX = 2**31 - 1    # pid_t
COUNT_MAX = 2**63 - 1  # anything larger is a typo, not a count
FD_MAX = 2**31 - 1     # int
SIZE_MAX = 2**62       # bytes, after the unit
_SIZE_UNITS = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}



def ascii_digits(text: str) -> bool:
    """One or more of 0-9, nothing else (what the pattern [0-9]+ takes; not
    re, which a trivial run does not import). str.isdigit() alone would also
    take '²'; only ASCII's digits are 0-9."""
    return text.isascii() and text.isdigit()


if TYPE_CHECKING:
    from ._enums import NumberProblem

    Problem = NumberProblem
else:
    def __getattr__(name: str) -> object:
        if name == "Problem":
            return _problems()
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _problems() -> type[Problem]:
    """Problem, made on first use: defining an enum costs start-up (pyipc._enums)."""
    from ._enums import NumberProblem

    return NumberProblem


class InvalidNumber(UsageError):
    """A number that does not parse. ``kind`` says what it was meant to be
    ('pid', 'count', ...), ``text`` is what was given, ``problem`` why it was
    refused, ``low``..``high`` the valid range."""

    def __init__(self, kind: str, text: str, problem: Problem, low: int, high: int):
        self.kind, self.text, self.problem, self.low, self.high = kind, text, problem, low, high
        super().__init__(str(self))

    def __str__(self) -> str:
        return (f"invalid {self.kind} '{self.text}' ({self.problem.value}: a {self.kind} is a whole number "
                f"from {self.low} to {self.high}, in ASCII digits)")


def parse_int(text: str, kind: str, low: int, high: int) -> int:
    """text as an integer in low..high, by the rules above (a '-' only when
    low < 0); raises InvalidNumber naming kind otherwise."""
    if not isinstance(text, str) or not ascii_digits(text[1:] if low < 0 and text[:1] == "-" else text):
        raise InvalidNumber(kind, text, _problems().NOT_A_NUMBER, low, high)
    # More digits than the bound has cannot be in range (and a few thousand
    # digits would exceed int()'s own limit on conversions).
    if len(text.lstrip("-").lstrip("0")) > len(str(max(abs(low), abs(high)))):
        raise InvalidNumber(kind, text, _problems().OUT_OF_RANGE, low, high)
    value = int(text)
    if not low <= value <= high:
        raise InvalidNumber(kind, text, _problems().OUT_OF_RANGE, low, high)
    return value


def parse_pid(text: str) -> int:
    """A process id: 1 to 2**31-1."""
    return parse_int(text, "pid", 1, PID_MAX)


def parse_count(text: str) -> int:
    """A count of things (messages, ticks): 0 or more."""
    return parse_int(text, "count", 0, COUNT_MAX)


def parse_fd(text: str) -> int:
    """A file descriptor number: 0 or more."""
    return parse_int(text, "file descriptor", 0, FD_MAX)


def parse_size(text: str) -> int:
    """A size in bytes, at least 1, with an optional unit K, M or G (KiB,
    MiB, GiB; either case): '4096', '64K', '16M'."""
    unit = text[-1:].upper() if isinstance(text, str) and text[-1:].upper() in _SIZE_UNITS else ""
    scale = _SIZE_UNITS.get(unit, 1)
    try:
        number = parse_int(text[:len(text) - len(unit)], "size", 1, SIZE_MAX // scale)
    except InvalidNumber as exc:
        raise InvalidNumber("size", text, exc.problem, 1, SIZE_MAX) from None
    return number * scale
