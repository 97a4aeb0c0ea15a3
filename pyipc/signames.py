"""Signal names and numbers: parsing every spelling, listing, naming."""

from __future__ import annotations

from ._signals import signal  # no enum import: see _signals

from .errors import EXIT_SIGNAL_BASE, UsageError
from .integers import ascii_digits, parse_int
from .status import signal_name, _signal_names

TYPE_CHECKING = False  # type checkers take its branches; see SignalProblem below

__all__ = ["parse_signal", "InvalidSignal", "SignalProblem", "signal_name", "list_signals", "lookup", "catchable",
           "NSIG"]

NSIG = signal.NSIG  # one more than the highest signal number (65 on Linux)



def _is_name(text: str) -> bool:
    """[A-Za-z][A-Za-z0-9]*([+-][0-9]+)?, without re. ASCII only, or
    str.upper() would turn 'ſigterm' (long s) or 'sıgterm' (dotless i) into SIGTERM."""
    if not text.isascii() or not text[:1].isalpha():
        return False
    cut = min((i for i in (text.find("+"), text.find("-")) if i >= 0), default=len(text))
    return text[:cut].isalnum() and (cut == len(text) or ascii_digits(text[cut + 1:]))


if TYPE_CHECKING:
    from ._enums import SignalProblem as SignalProblem
else:
    def __getattr__(name: str) -> object:
        if name == "SignalProblem":
            return _problems()
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _problems() -> type[SignalProblem]:
    """SignalProblem, made on first use: defining an enum costs start-up (pyipc._enums)."""
    from ._enums import SignalProblem

    return SignalProblem


class InvalidSignal(UsageError):
    """A signal that does not parse: ``text`` as given, and ``problem``.
    (A number out of range is an integers.InvalidNumber.)"""

    def __init__(self, text: str, problem: SignalProblem, *, allow_zero: bool = False):
        self.text, self.problem, self.allow_zero = text, problem, allow_zero
        super().__init__(str(self))

    def __str__(self) -> str:
        rt = signal.SIGRTMAX - signal.SIGRTMIN
        if self.problem is _problems().UNKNOWN_NAME:
            return f"unknown signal '{self.text}'; valid signals: {', '.join(name for _, name in list_signals())}"
        if self.problem is _problems().REALTIME_RANGE:
            return f"invalid signal '{self.text}' (real-time signals: RTMIN..RTMIN+{rt}, RTMAX-{rt}..RTMAX)"
        if self.problem is _problems().NOT_A_STATUS:
            return f"'{self.text}' is neither a signal number (1-{NSIG - 1}) nor a shell status 128+N"
        return (f"invalid signal '{self.text}' (a name like TERM or SIGTERM, RTMIN+N, RTMAX-N, "
                f"or a number from {0 if self.allow_zero else 1} to {NSIG - 1}, in ASCII)")


def _by_name() -> dict[str, int]:
    names = {name[3:]: number for number, name in _signal_names().items()}
    # Aliases that kill(1) accepts: _signal_names() has one name per number.
    for alias, real in (("IOT", "ABRT"), ("POLL", "IO"), ("CLD", "CHLD")):
        if real in names:
            names.setdefault(alias, names[real])
    return names


def parse_signal(spec: str, *, allow_zero: bool = False) -> int:
    """'TERM', 'SIGTERM', 'sigterm', '15', 'RTMIN+3', 'RTMAX-1' -> number.

    '0' (the existence check of kill(2)) only with allow_zero. Numbers are
    ASCII digits only, as everywhere (pyipc.integers), and names ASCII letters:
    no white space, no sign, no superscript. Anything else, including a number
    outside 1..NSIG-1, raises InvalidSignal or InvalidNumber (both UsageErrors).
    """
    if ascii_digits(spec):
        return parse_int(spec, "signal number", 0 if allow_zero else 1, NSIG - 1)
    if not _is_name(spec):
        raise InvalidSignal(spec, _problems().MALFORMED, allow_zero=allow_zero)
    name = spec.upper()
    if name.startswith("SIG"):
        name = name[3:]
    for base, anchor, sign in (("RTMIN", signal.SIGRTMIN, 1), ("RTMAX", signal.SIGRTMAX, -1)):
        if name == base:
            return anchor
        if name.startswith(base) and name[len(base) : len(base) + 1] in "+-" and len(name) > len(base) + 1:
            offset_text = name[len(base) + 1 :]
            if ascii_digits(offset_text) and len(offset_text) <= 3:
                offset = int(offset_text) * (1 if name[len(base)] == "+" else -1)
                number = anchor + offset
                if signal.SIGRTMIN <= number <= signal.SIGRTMAX and (offset * sign) >= 0:
                    return number
            raise InvalidSignal(spec, _problems().REALTIME_RANGE)
    named = _by_name().get(name)
    if named is None or named in (signal.SIGRTMIN, signal.SIGRTMAX) and name not in ("RTMIN", "RTMAX"):
        raise InvalidSignal(spec, _problems().UNKNOWN_NAME)
    return named


def list_signals() -> list[tuple[int, str]]:
    """Every signal as (number, name without SIG), real-time ones included."""
    return [(n, signal_name(n)[3:]) for n in range(1, NSIG) if _exists(n)]


def _exists(number: int) -> bool:
    return number in _signal_names() or signal.SIGRTMIN <= number <= signal.SIGRTMAX


def lookup(spec: str) -> str:
    """What ``kill -l SPEC`` prints: the name of a number (without SIG), the
    number of a name, and for a shell status 128+N the name of signal N
    ('143' -> 'TERM', as bash does). Raises UsageError for anything else."""
    if ascii_digits(spec):
        number = int(spec) if len(spec) <= 6 else 0  # longer: neither, and int() has a digit limit
        if number > EXIT_SIGNAL_BASE and _exists(number - EXIT_SIGNAL_BASE):
            number -= EXIT_SIGNAL_BASE
        if 1 <= number < NSIG and _exists(number):
            return signal_name(number)[3:]
        raise InvalidSignal(spec, _problems().NOT_A_STATUS)
    return str(parse_signal(spec))


def catchable(signum: int) -> bool:
    """Whether a signal can be blocked and waited for (not KILL or STOP)."""
    return signum not in (signal.SIGKILL, signal.SIGSTOP)
