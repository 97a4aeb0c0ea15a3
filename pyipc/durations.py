"""Durations as the commands take them: seconds, fractional, optional unit s/m/h/d."""

import math

from .errors import UsageError

_UNITS = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(text: str) -> float:
    """'1.5' -> 1.5, '2m' -> 120.0, '.5h' -> 1800.0; raise UsageError otherwise.

    Like coreutils timeout: a non-negative decimal number and one unit letter.
    """
    spec = text.strip()
    unit = spec[-1:] if spec[-1:] in ("s", "m", "h", "d") else ""
    number = spec[: len(spec) - len(unit)]
    # float() alone would also take 'inf', 'nan', '1e3', '_1': refuse those shapes.
    if not number or not all(c.isdigit() or c == "." for c in number) or number.count(".") > 1 or number == ".":
        raise UsageError(f"invalid duration '{text}'")
    value = float(number) * _UNITS[unit]
    if not math.isfinite(value):
        raise UsageError(f"invalid duration '{text}'")
    return value
