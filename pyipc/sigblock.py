"""Taking signals synchronously, as tini does: block them, then wait for them
with sigwaitinfo/sigtimedwait. A signal that arrives before the wait (a
SIGCHLD right after a fork, a SIGALRM right after arming a timer) stays
pending instead of being lost, and no work runs in an asynchronous handler.
Also the two rules every supervisor here shares: a signal ignored at start
stays ignored, and a signal passed on is followed by SIGCONT."""

from __future__ import annotations

from ._signals import signal  # no enum import: see _signals

TYPE_CHECKING = False  # typing costs start-up; type checkers read the annotations
if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from typing import Any

__all__ = ["BlockedSignals", "not_ignored", "take_pending", "followed_by_cont"]


class BlockedSignals:
    """Block ``signals`` from ``block()`` until ``restore()`` (or for a with-block).

    With SIGCHLD among them, an ignored SIGCHLD is set back to its default
    meanwhile: while it is ignored the kernel reaps our children itself and
    waitpid gives ECHILD. ``restore()`` puts the SIGCHLD action back, drops
    what is still pending of ``drain`` (signals taken over for the wait only,
    so that unblocking delivers no stale copy), then restores the mask."""

    def __init__(self, signals: Iterable[int], drain: Iterable[int] = ()):
        self.signals, self.drain = tuple(signals), tuple(drain)
        self._old_mask: set[int] | None = None
        self._old_sigchld: Any = None  # the SIGCHLD action replaced, if it was SIG_IGN

    def block(self) -> "BlockedSignals":
        self._old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, self.signals)
        if signal.SIGCHLD in self.signals and signal.getsignal(signal.SIGCHLD) == signal.SIG_IGN:
            self._old_sigchld = signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        return self

    def restore(self) -> None:
        """Undo block(); does nothing if not blocked (so it may be called twice)."""
        if self._old_sigchld is not None:
            signal.signal(signal.SIGCHLD, self._old_sigchld)
            self._old_sigchld = None
        if self._old_mask is not None:
            for _ in take_pending(self.drain):
                pass  # dropped: taken over for the wait only
            signal.pthread_sigmask(signal.SIG_SETMASK, self._old_mask)
            self._old_mask = None

    __enter__ = block

    def __exit__(self, *exc_info: object) -> None:
        self.restore()


def not_ignored(signals: Iterable[int]) -> tuple[int, ...]:
    """The signals whose action is not SIG_IGN right now. A supervisor started
    with a signal ignored (nohup, a background job of a non-interactive shell)
    leaves it ignored: its children inherit that, and a shell in its place
    would not end by it either. Blocking it instead would queue it (a blocked
    signal is never discarded), and it would be acted on."""
    return tuple(s for s in signals if signal.getsignal(s) != signal.SIG_IGN)


def take_pending(signals: Iterable[int]) -> Iterator[signal.struct_siginfo]:
    """Take, without waiting, each of the (blocked) signals that is pending:
    one siginfo per signal taken. A signal that came together with the last
    SIGCHLD is still pending when a wait loop ends; a caller takes it here, or
    restore() drops it."""
    signals = tuple(signals)
    while signals and (info := signal.sigtimedwait(signals, 0)) is not None:
        yield info


def followed_by_cont(signum: int) -> tuple[int, ...]:
    """What to send for signum, as coreutils timeout sends it: signum, then
    SIGCONT, so that a stopped process acts on it (KILL needs no CONT)."""
    return (signum,) if signum in (signal.SIGKILL, signal.SIGCONT) else (signum, signal.SIGCONT)
