"""mkfifo-cat's copy: every byte from the FIFO to stdout, untouched and
unlooked-at (splice(2) where stdout allows it), and, on a stop signal, what is
already in the pipe before it goes."""

from __future__ import annotations

import errno
import os
import select

from .errors import FifoTimeout, StreamError, waited
from .pipes import SPLICE_F_NONBLOCK, queued
from .reader import write_all
from .stop import Waiter, deadline_after

_IN = select.POLLIN | select.POLLHUP | select.POLLERR


class Collector:
    """Copies everything from the FIFO fd to out_fd, with no look at the
    bytes: splice(2) when out_fd allows it, else read and write."""

    def __init__(self, fd: int, out_fd: int, waiter: Waiter, timeout: float | None = None):
        self.fd, self.out_fd, self.waiter, self.timeout = fd, out_fd, waiter, timeout
        self.copied = 0
        self._splice = hasattr(os, "splice")

    def run(self) -> int:
        """Until EOF (every writer gone, after one came); returns the bytes
        copied. FifoTimeout(DATA) when nothing arrives for the timeout."""
        stop = self.waiter.stop
        deadline = deadline_after(self.timeout)
        while True:
            # Poll before the first bytes (until a writer has come, a read says
            # EOF at once, while poll waits for one) and when there is a
            # deadline; otherwise block in the copy itself.
            if deadline is not None or not self.copied or stop is None:
                if not self.waiter.wait(self.fd, _IN, deadline):
                    raise FifoTimeout(waited().DATA, self.timeout or 0.0, seen_data=bool(self.copied))
            moved = self._move(1 << 20, blocking=True)
            if moved is None:
                continue  # splice turned out impossible: read and write instead
            if not moved:
                return self.copied
            deadline = deadline_after(self.timeout)

    def drain(self) -> int:
        """Copy what is in the pipe now, waiting for nothing but room in the
        output (which a stop signal interrupts); returns the bytes moved."""
        before = self.copied
        while True:
            waiting = queued(self.fd)
            if not waiting:
                return self.copied - before
            try:
                moved = self._move(min(waiting, 1 << 20), blocking=False)
            except BlockingIOError:  # stdout is a full pipe: wait for room
                self.waiter.wait(self.out_fd, select.POLLOUT | select.POLLERR, None)
                continue
            if moved is None:
                continue  # splice turned out impossible (an O_APPEND file...): read and write instead
            if not moved:
                return self.copied - before

    def _move(self, size: int, blocking: bool) -> int | None:
        stop = self.waiter.stop
        if self._splice:
            flags = 0 if blocking else SPLICE_F_NONBLOCK
            try:
                if stop is not None:
                    moved = stop.blocking(os.splice, self.fd, self.out_fd, size, None, None, flags)
                else:
                    moved = os.splice(self.fd, self.out_fd, size, None, None, flags)
            except (BrokenPipeError, BlockingIOError):
                raise
            except OSError as exc:
                if exc.errno not in (errno.EINVAL, errno.ENOSYS, errno.EBADF) or self.copied:
                    # Reading a FIFO we hold fails with none of these: it is the output.
                    raise StreamError.from_oserror("stdout", exc) from None
                self._splice = False  # a terminal, an O_APPEND file, a closed stdout...: read and write
                return None
        else:
            buf = stop.blocking(os.read, self.fd, min(size, 1 << 17)) if stop else os.read(self.fd, min(size, 1 << 17))
            moved = len(buf)
            if moved:
                write_all(self.out_fd, buf, stop)
        self.copied += moved
        return moved
