"""Durations as the commands take them: seconds, fractional, optional unit s/m/h/d."""

import math

from .errors import UsageError

_UNITS = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}

# Longer durations are clamped to this (about 68 years), as coreutils timeout
# clamps to what its timer can hold: every wait and timer call here takes it.
MAX_DURATION = float(2**31 - 1)


def parse_duration(text: str) -> float:
    """'1.5' -> 1.5, '2m' -> 120.0, '.5h' -> 1800.0; raise UsageError otherwise.

    Like coreutils timeout: a non-negative decimal number and one unit letter;
    anything longer than MAX_DURATION (about 68 years) means MAX_DURATION.
    """
    spec = text.strip()
    unit = spec[-1:] if spec[-1:] in ("s", "m", "h", "d") else ""
    number = spec[: len(spec) - len(unit)]
    # float() alone would also take 'inf', 'nan', '1e3', '_1': refuse those shapes.
    if not number or not all(c in "0123456789." for c in number) or number.count(".") > 1 or number == ".":
        raise UsageError(f"invalid duration '{text}'")
    value = float(number) * _UNITS[unit]
    if not math.isfinite(value):
        raise UsageError(f"invalid duration '{text}'")
    return min(value, MAX_DURATION)


_POLL_MAX_MS = 2**31 - 1


def poll_ms(seconds: float, minimum: int = 0) -> int:
    """Seconds as poll(2)'s millisecond timeout: rounded up (never wake before
    the deadline), at least ``minimum``, and at most what poll takes (a
    clamped 68-year duration would overflow it)."""
    return min(_POLL_MAX_MS, max(minimum, int(seconds * 1000 + 0.999)))
