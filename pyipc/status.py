"""Exit status decoding, in one place: exit code, signal, core dump, shell status."""

from __future__ import annotations

import os

from ._signals import signal  # no enum import: see _signals
from .errors import EXIT_SIGNAL_BASE


class ExitStatus:
    """How a process ended. Exactly one of ``exit_code`` and ``signal`` is set.

    A plain slotted class, not a dataclass: building a dataclass costs about a
    millisecond at import, and every command imports this module."""

    __slots__ = ("exit_code", "signal", "core_dumped")

    def __init__(self, exit_code: int | None = None, signal: int | None = None, core_dumped: bool = False):
        self.exit_code, self.signal, self.core_dumped = exit_code, signal, core_dumped

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ExitStatus):
            return NotImplemented
        return (self.exit_code, self.signal, self.core_dumped) == (other.exit_code, other.signal, other.core_dumped)

    def __hash__(self) -> int:
        return hash((self.exit_code, self.signal, self.core_dumped))

    def __repr__(self) -> str:
        return f"ExitStatus(exit_code={self.exit_code!r}, signal={self.signal!r}, core_dumped={self.core_dumped!r})"

    @classmethod
    def from_wait_status(cls, wait_status: int) -> "ExitStatus":
        if os.WIFEXITED(wait_status):
            return cls(exit_code=os.WEXITSTATUS(wait_status))
        if os.WIFSIGNALED(wait_status):
            return cls(signal=os.WTERMSIG(wait_status), core_dumped=os.WCOREDUMP(wait_status))
        raise ValueError(f"wait status {wait_status:#x} is neither an exit nor a signal death")

    @property
    def shell_status(self) -> int:
        """What ``$?`` would say: the exit code, or 128+N for signal N."""
        if self.signal is not None:
            return EXIT_SIGNAL_BASE + self.signal
        assert self.exit_code is not None  # exactly one of the two is set
        return self.exit_code

    @property
    def signal_name(self) -> str | None:
        return signal_name(self.signal) if self.signal is not None else None

    def describe(self) -> str:
        """'exited 3', 'killed by SIGKILL', 'killed by SIGSEGV (core dumped)'."""
        if self.signal is None:
            return f"exited {self.exit_code}"
        text = f"killed by {self.signal_name}"
        return text + " (core dumped)" if self.core_dumped else text


def signal_name(signum: int) -> str:
    """SIGTERM, SIGRTMIN+3, or SIG<N> for a number with no name."""
    name = _signal_names().get(signum)
    if name is not None:
        return name
    rtmin, rtmax = signal.SIGRTMIN, signal.SIGRTMAX
    if rtmin <= signum <= rtmax:
        if signum - rtmin <= rtmax - signum:
            return f"SIGRTMIN+{signum - rtmin}" if signum != rtmin else "SIGRTMIN"
        return f"SIGRTMAX-{rtmax - signum}"
    return f"SIG{signum}"


_NAMES: dict[int, str] = {}


def _signal_names() -> dict[int, str]:
    """Each signal number's name, as the signal module's Signals(number).name gives it (not
    imported: see _signals): the SIG* constants of the signal module, and for
    a number with two names (SIGABRT and SIGIOT) the first in sorted order,
    as Signals' members are made. Built on first use; do not modify."""
    if not _NAMES:
        for name in sorted(dir(signal)):
            if name.isupper() and (name.startswith("SIG") and not name.startswith("SIG_")) or name.startswith("CTRL_"):
                _NAMES.setdefault(getattr(signal, name), name)
    return _NAMES
