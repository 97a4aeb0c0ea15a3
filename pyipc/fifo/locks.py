"""The two locks of a FIFO channel, on the FIFO's own inode (no lock file):

- senders take open-file-description record locks (fcntl F_OFD_SETLK on a
  write-only fd): a *shared* hold is a one-byte lock at an offset of its own,
  so any number of senders hold one at once, and the *exclusive* hold (a
  message too large for one atomic write) locks every byte, waiting for all of
  them and keeping them out;
- receivers take flock(2) LOCK_EX, one at a time.

Linux keeps flock(2) and fcntl locks apart, so a receiver never waits for a
sender's lock nor a sender for a receiver's: a sender holding its lock while
the pipe is full waits only for a reader to read, and the reader holding its
lock waits only for data. Both locks go with the process, on SIGKILL too.
"""

from __future__ import annotations

import fcntl
import os
import sys

from .errors import FifoTimeout, waited
from .stop import Waiter

F_OFD_SETLK = getattr(fcntl, "F_OFD_SETLK", 37)
F_OFD_SETLKW = getattr(fcntl, "F_OFD_SETLKW", 38)
_FLOCK = "hhqqi4x"  # struct flock: l_type, l_whence, l_start, l_len, l_pid (0 for OFD locks)


def _record(kind: int, start: int, length: int) -> bytes:
    """struct.pack(_FLOCK, kind, os.SEEK_SET, start, length, 0), written out
    (tests/test_fifo.py checks it is the same): the struct module's import
    (a shared library) costs start-up. Native order and alignment: two
    shorts, 4 bytes of padding, two 64-bit offsets, the pid and 4 bytes."""
    order = sys.byteorder
    return (kind.to_bytes(2, order, signed=True) + os.SEEK_SET.to_bytes(2, order, signed=True) + bytes(4)
            + start.to_bytes(8, order, signed=True) + length.to_bytes(8, order, signed=True) + bytes(8))


class SenderLock:
    """Shared (runs of small writes) or exclusive (a large message) hold of a
    FIFO by one sender fd."""

    def __init__(self, fd: int, waiter: Waiter, timeout: float | None):
        self.fd, self.waiter, self.timeout = fd, waiter, timeout
        # Distinct for every sender fd alive on this system (pid, then fd):
        # two shared holds never overlap, the exclusive one overlaps them all.
        self._shared = _record(fcntl.F_WRLCK, 1 + (os.getpid() << 16) + (fd & 0xFFFF), 1)
        self._exclusive = _record(fcntl.F_WRLCK, 0, 0)
        self._unlock = _record(fcntl.F_UNLCK, 0, 0)

    def shared(self, deadline: float | None) -> None:
        self._take(self._shared, deadline)

    def exclusive(self, deadline: float | None) -> None:
        self._take(self._exclusive, deadline)

    def release(self) -> None:
        fcntl.fcntl(self.fd, F_OFD_SETLK, self._unlock)

    def _take(self, record: bytes, deadline: float | None) -> None:
        try:
            fcntl.fcntl(self.fd, F_OFD_SETLK, record)
            return
        except (BlockingIOError, PermissionError):  # EAGAIN, or EACCES on some systems
            pass
        stop = self.waiter.stop
        if deadline is None and stop is not None:
            stop.blocking(fcntl.fcntl, self.fd, F_OFD_SETLKW, record)  # a stop signal interrupts it
            return
        pause = 0.0005
        while True:
            step = self.waiter.backoff(pause, deadline, 0.01)
            if step is None:
                raise FifoTimeout(waited().LOCK, self.timeout or 0.0)
            pause = step
            try:
                fcntl.fcntl(self.fd, F_OFD_SETLK, record)
                return
            except (BlockingIOError, PermissionError):
                pass


class ReceiverLock:
    """One receiver at a time: flock(2) LOCK_EX on the FIFO."""

    def __init__(self, fd: int, waiter: Waiter, timeout: float | None):
        self.fd, self.waiter, self.timeout = fd, waiter, timeout
        self.held = False

    def take(self, deadline: float | None, waiting_for: str) -> None:
        """waiting_for: the name of the Waited member a timeout reports (MESSAGE, WRITER)."""
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            stop = self.waiter.stop
            if deadline is None and stop is not None:
                stop.blocking(fcntl.flock, self.fd, fcntl.LOCK_EX)
            else:
                pause = 0.0005
                while True:
                    step = self.waiter.backoff(pause, deadline, 0.01)
                    if step is None:
                        raise FifoTimeout(waited()[waiting_for], self.timeout or 0.0) from None
                    pause = step
                    try:
                        fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                        break
                    except BlockingIOError:
                        pass
        self.held = True

    def release(self) -> None:
        if self.held:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            self.held = False
