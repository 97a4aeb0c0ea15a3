"""Stop signals and waiting: the one place a FIFO command waits.

``Waiter.wait`` polls the FIFO and the read end of a signal wakeup pipe
(``StopSignals``), so a deadline or a SIGINT, SIGTERM or SIGHUP ends any wait at
once, and no work happens in a signal handler. The only blocking calls are on
fds that are not ours to make non-blocking (stdin, stdout, shared with other
processes); around those, and only there, the handler raises ``Interrupted`` so
that a stuck consumer cannot make us ignore SIGTERM (PEP 475: a handler that
raises interrupts the call).
"""

from __future__ import annotations

import os
import select
import time

from .._signals import signal  # no enum import: see _signals
from ..durations import poll_ms
from .errors import Interrupted

TYPE_CHECKING = False  # typing costs start-up; type checkers read the annotations
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from types import FrameType
    from typing import Any, TypeVar

    T = TypeVar("T")

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class StopSignals:
    """SIGINT/SIGTERM/SIGHUP become a byte on a pipe that every wait polls.

    The Python-level handler does nothing unless ``blocking()`` is active (a
    blocking read of stdin or write of stdout), where it raises Interrupted.
    """

    def __init__(self, signums: Iterable[int] = STOP_SIGNALS):
        self.signums = tuple(signums)
        self.fd = -1
        self._write_fd = -1
        self._armed = False
        self._pending = 0
        self._old: dict[int, Any] = {}  # the handlers we replaced
        self._old_wakeup = -1

    def __enter__(self) -> "StopSignals":
        from ..sigblock import not_ignored

        # nohup, a background job: a signal ignored at start stays ignored
        self.signums = not_ignored(self.signums)
        self.fd, self._write_fd = os.pipe()
        os.set_blocking(self.fd, False)
        os.set_blocking(self._write_fd, False)
        self._old_wakeup = signal.set_wakeup_fd(self._write_fd, warn_on_full_buffer=False)
        for signum in self.signums:
            self._old[signum] = signal.signal(signum, self._handler)
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, old in self._old.items():
            signal.signal(signum, old)
        signal.set_wakeup_fd(self._old_wakeup)
        os.close(self.fd)
        os.close(self._write_fd)

    def _handler(self, signum: int, frame: FrameType | None) -> None:
        if self._armed:
            self._armed = False
            raise Interrupted(signum)
        self._pending = self._pending or signum  # only noted: acted on at the next check()

    def acknowledge(self) -> int:
        """Take the pending stop signal (0 if none) and clear it, so that the
        caller can finish up (a collector drains the pipe) while a second stop
        signal still interrupts it."""
        signum, self._pending = self._pending, 0
        # The wakeup pipe may still hold that signal's byte (the handler
        # raised before any poll read it): drop it, or the next wait would
        # take it for a second signal.
        try:
            while os.read(self.fd, 64):
                pass
        except BlockingIOError:
            pass
        return signum

    def check(self) -> None:
        """Raise Interrupted if one of our signals has arrived (no syscall)."""
        if self._pending:
            raise Interrupted(self._pending)

    def drain(self) -> None:
        """The wakeup pipe is readable: empty it, then check()."""
        try:
            data = os.read(self.fd, 64)
        except BlockingIOError:
            data = b""
        for signum in data:
            if signum in self.signums and not self._pending:
                self._pending = signum
        self.check()

    def arm(self) -> None:
        """From now until disarm(), a stop signal raises Interrupted at once,
        interrupting a blocked system call (raises now if one is pending)."""
        self.check()
        self._armed = True

    def disarm(self) -> None:
        self._armed = False

    def blocking(self, call: Callable[..., T], *args: object) -> T:
        """Run a blocking call that a stop signal must be able to interrupt."""
        self.arm()
        try:
            return call(*args)
        finally:
            self.disarm()


class Waiter:
    """poll(2) on one fd plus the stop pipe, with an absolute deadline."""

    def __init__(self, stop: StopSignals | None):
        self.stop = stop
        self._polls: dict[tuple[int, int], select.poll] = {}

    def wait(self, fd: int, events: int, deadline: float | None) -> int:
        """Revents of fd, or 0 when the deadline came first."""
        key = (fd, events)
        poller = self._polls.get(key)
        if poller is None:
            poller = self._polls[key] = select.poll()
            poller.register(fd, events)
            if self.stop is not None:
                poller.register(self.stop.fd, select.POLLIN)
        while True:
            timeout = None if deadline is None else poll_ms(deadline - time.monotonic())
            ready: dict[int, int] = dict(poller.poll(timeout))
            if self.stop is not None and self.stop.fd in ready:
                self.stop.drain()
            if fd in ready:
                return ready[fd]
            if deadline is not None and time.monotonic() >= deadline:
                return 0

    def backoff(self, pause: float, deadline: float | None, longest: float) -> float | None:
        """One step of a retry loop: sleep pause (cut short by the deadline, or
        by a stop signal) and return the next, doubled up to longest; None,
        without sleeping, once the deadline has passed."""
        now = time.monotonic()
        if deadline is not None and now >= deadline:
            return None
        self.sleep(pause if deadline is None else min(pause, deadline - now))
        return min(pause * 2, longest)

    def sleep(self, seconds: float) -> None:
        """Sleep, but wake for a stop signal."""
        if self.stop is None:
            time.sleep(seconds)
            return
        poller = select.poll()
        poller.register(self.stop.fd, select.POLLIN)
        if poller.poll(poll_ms(seconds, minimum=1)):  # at least 1 ms: never a busy loop
            self.stop.drain()


def deadline_after(timeout: float | None) -> float | None:
    """The absolute deadline for a --timeout (None or 0: no deadline)."""
    return None if not timeout else time.monotonic() + timeout
