"""Durations as the commands take them: what strtod(3) reads, as coreutils
timeout takes them, with an optional unit s/m/h/d."""

from __future__ import annotations

TYPE_CHECKING = False  # typing costs start-up
if TYPE_CHECKING:
    import re  # imported for real only when a strtod form needs it (see parse_duration)

from .errors import UsageError

_UNITS = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}

# Longer durations are clamped to this (about 68 years), as coreutils timeout
# clamps to what its timer can hold: every wait and timer call here takes it.
MAX_DURATION = float(2**31 - 1)
# A positive duration shorter than this (1e-10000 underflows to 0.0) is
# rounded up to it: it still times out at once, and it never becomes 0, which
# means "no deadline" to --timeout and disarms an interval timer.
MIN_POSITIVE_DURATION = 1e-9

# The numbers strtod(3) reads in the C locale, ASCII only, each alternative as
# long as strtod would take it (so '0x1d' is hex 29 seconds, not 1 day, as
# strtod ends there too): a sign, then a hex float, a decimal with an optional
# exponent, or inf/infinity; nan is read but refused (it is not >= 0).
# Compiled on first use: the plain decimals scripts write ('5', '0.5', '2m')
# are read without it, and a trivial run does not import re.
_NUMBER = None
_NUMBER_PATTERN = (
    r"(?P<sign>[+-]?)(?:"
    r"(?P<hex>0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)(?:[pP][+-]?[0-9]+)?)"
    r"|(?P<dec>(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)"
    r"|(?P<inf>[iI][nN][fF](?:[iI][nN][iI][tT][yY])?)"
    r"|(?P<nan>[nN][aA][nN](?:\([0-9A-Za-z_]*\))?)"
    r")"
)


if TYPE_CHECKING:
    from ._enums import DurationProblem as DurationProblem
else:
    def __getattr__(name: str) -> object:
        if name == "DurationProblem":
            return _problems()
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _problems() -> type[DurationProblem]:
    """DurationProblem, made on first use: defining an enum costs start-up (pyipc._enums)."""
    from ._enums import DurationProblem

    return DurationProblem


class InvalidDuration(UsageError):
    """A duration that does not parse: ``text`` as given, and ``problem``."""

    def __init__(self, text: str, problem: DurationProblem):
        self.text, self.problem = text, problem
        super().__init__(str(self))

    def __str__(self) -> str:
        if self.problem is _problems().NEGATIVE:
            return f"invalid duration '{self.text}': a duration cannot be negative"
        return (f"invalid duration '{self.text}' (seconds as strtod reads them: 1.5, 2e3, 0x10, inf; "
                f"with an optional unit s, m, h or d)")


def parse_duration(text: str) -> float:
    """'1.5' -> 1.5, '2m' -> 120.0, '1e3' -> 1000.0, 'inf' -> MAX_DURATION.

    As coreutils timeout reads a duration: what strtod(3) takes (decimal,
    exponent, hex float, inf), then at most one unit letter; not negative, not
    nan; no white space (strtod would skip it in front, not behind: refused
    on both sides, as every number here). The result is clamped to
    MAX_DURATION (about 68 years), and a positive number too small to
    represent counts as MIN_POSITIVE_DURATION. Raises InvalidDuration.
    """
    global _NUMBER
    plain = text[:-1] if text[-1:] in _UNITS else text
    if plain.replace(".", "", 1).isdigit() and plain.isascii():  # [0-9]+.?[0-9]* or .[0-9]+, what _NUMBER's dec reads
        value = float(plain)
        nonzero = value != 0 or any(c in "123456789" for c in plain)
        return _clamp(value * _UNITS[text[len(plain):]]) if nonzero else 0.0
    if _NUMBER is None:
        import re

        _NUMBER = re.compile(_NUMBER_PATTERN)
    match = _NUMBER.match(text)
    unit = text[match.end():] if match else None
    if match is None or unit not in _UNITS:
        raise InvalidDuration(text, _problems().NOT_A_DURATION)
    if match["nan"]:
        raise InvalidDuration(text, _problems().NOT_A_DURATION)
    if match["inf"]:
        value = float("inf")
    elif match["hex"]:
        try:
            value = float.fromhex(match["hex"])
        except OverflowError:  # strtod gives HUGE_VAL (ERANGE): clamped below
            value = float("inf")
    else:
        value = float(match["dec"])
    nonzero = value != 0 or any(c in "123456789abcdefABCDEF" for c in _mantissa(match))
    if match["sign"] == "-" and nonzero:
        raise InvalidDuration(text, _problems().NEGATIVE)
    if not nonzero:
        return 0.0
    return _clamp(value * _UNITS[unit])


def _clamp(value: float) -> float:
    return min(max(value, MIN_POSITIVE_DURATION), MAX_DURATION)


def _mantissa(match: re.Match[str]) -> str:
    """The digits before any exponent: whether the number written is 0."""
    if match["hex"]:
        return match["hex"][2:].replace("P", "p").split("p")[0]
    if match["dec"]:
        return match["dec"].replace("E", "e").split("e")[0]
    return "1"  # inf


_POLL_MAX_MS = 2**31 - 1


def poll_ms(seconds: float, minimum: int = 0) -> int:
    """Seconds as poll(2)'s millisecond timeout: rounded up (never wake before
    the deadline), at least ``minimum``, and at most what poll takes (a
    clamped 68-year duration would overflow it)."""
    return min(_POLL_MAX_MS, max(minimum, int(seconds * 1000 + 0.999)))
