"""What a pipe's buffer holds, and looking at it without taking it.

``queued`` (FIONREAD) says how many bytes wait in a pipe, from either end;
``Peeker`` copies them with tee(2) into a private pipe, so a reader can find a
message's end before it consumes anything: what it then takes, it takes in one
read, and what follows stays for the next reader.
"""

from __future__ import annotations

import fcntl
import os
import termios

TYPE_CHECKING = False  # typing costs start-up; type checkers read the annotations
if TYPE_CHECKING:
    from collections.abc import Callable

F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)
F_GETPIPE_SZ = getattr(fcntl, "F_GETPIPE_SZ", 1032)
FIONREAD = getattr(termios, "FIONREAD", 0x541B)
SPLICE_F_NONBLOCK = 2


def queued(fd: int) -> int:
    """Bytes in the pipe's buffer, not yet read (FIONREAD)."""
    return int.from_bytes(fcntl.ioctl(fd, FIONREAD, b"\0\0\0\0"), "little")


def capacity(fd: int) -> int:
    return fcntl.fcntl(fd, F_GETPIPE_SZ)


def grow_pipe(fd: int, size: int) -> int:
    """The pipe's capacity, grown to size first if it is smaller: to
    /proc/sys/fs/pipe-max-size if size is more than that. Only ever grown;
    the system's pipe limits may refuse (then it stays as it was)."""
    current = capacity(fd)
    if current < size:
        try:
            current = fcntl.fcntl(fd, F_SETPIPE_SZ, size)
        except OSError:
            try:
                with open("/proc/sys/fs/pipe-max-size", "rb") as limit_file:
                    limit = int(limit_file.read())
                if current < limit < size:
                    current = fcntl.fcntl(fd, F_SETPIPE_SZ, limit)
            except (OSError, ValueError):
                pass
    return current


_tee: Callable[[int, int, int, int], int] | None = None


def _load_tee() -> Callable[[int, int, int, int], int]:
    global _tee
    from .._libc import tee  # not ctypes: importing it costs about 0.2x `python -c pass`

    _tee = tee
    return tee


class Peeker:
    """A private pipe that tee(2) copies a FIFO's queued bytes into: ``peek``
    returns what the FIFO holds (up to a limit) and consumes nothing of it."""

    def __init__(self, fifo_fd: int):
        self.fifo_fd = fifo_fd
        self.read_end, self.write_end = os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK)
        # tee copies buffer references: the private pipe needs as many slots
        # as the FIFO has, or it would show only the FIFO's head.
        self.size = grow_pipe(self.write_end, capacity(fifo_fd))
        self._null = -1

    def close(self) -> None:
        for fd in (self.read_end, self.write_end, self._null):
            if fd >= 0:
                os.close(fd)
        self.read_end = self.write_end = self._null = -1

    def __enter__(self) -> "Peeker":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def peek(self, room: memoryview) -> int:
        """Copy the FIFO's queued bytes (as many as fit room, a writable
        memoryview) into room without consuming them; returns how many."""
        if self.size < capacity(self.fifo_fd):  # the FIFO was grown meanwhile
            self.size = grow_pipe(self.write_end, capacity(self.fifo_fd))
        try:
            got = (_tee or _load_tee())(self.fifo_fd, self.write_end, min(len(room), self.size), SPLICE_F_NONBLOCK)
        except BlockingIOError:  # the FIFO is empty
            return 0
        pos = 0
        try:
            while pos < got:
                pos += os.readv(self.read_end, [room[pos:got]])
        finally:
            if pos < got:  # never leave stale bytes for the next peek
                self._discard()
        return got

    def _discard(self) -> None:
        while True:
            try:
                if not os.read(self.read_end, 1 << 16):
                    return
            except BlockingIOError:
                return


def other_writers(fd: int) -> bool:
    """True if any fd but ours on this FIFO (in any process we can see) is
    open for writing: bytes queued in it may then be someone else's."""
    from ..procfs import open_elsewhere

    return open_elsewhere(fd, (os.O_WRONLY, os.O_RDWR))


def other_readers(fd: int) -> bool:
    """True if any fd but ours on this FIFO is open for reading: removing its
    name would then split a queue in two."""
    from ..procfs import open_elsewhere

    return open_elsewhere(fd, (os.O_RDONLY, os.O_RDWR))
