"""Telling a parent "ready" (s6's notification-fd convention): write one
newline to fd N, then close it. A script waits with ``read`` on its end of a
pipe instead of sleeping:
``exec 3< <(mkfifo-cat --ready-fd 4 q.fifo 4>&1 >>all.log); read -r -u 3``.

Commands check the fd at start-up (check_ready_fd), before anything else can
fail or be created, and call notify once the promise holds (the FIFO is open,
the signal is blocked).
"""

from __future__ import annotations

import fcntl
import os

from .errors import PyipcError

TYPE_CHECKING = False  # type checkers take its branches; see ReadyFdProblem below


if TYPE_CHECKING:
    from ._enums import ReadyFdProblem as ReadyFdProblem
else:
    def __getattr__(name: str) -> object:
        if name == "ReadyFdProblem":
            return _problems()
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _problems() -> type[ReadyFdProblem]:
    """ReadyFdProblem, made on first use: defining an enum costs start-up (pyipc._enums)."""
    from ._enums import ReadyFdProblem

    return ReadyFdProblem


class ReadyFdError(PyipcError):
    def __init__(self, fd: int, problem: ReadyFdProblem):
        super().__init__(fd, problem)
        self.fd, self.problem = fd, problem


def check_ready_fd(fd: int) -> int:
    """fd, if it can carry the notification: 3 or more, open for writing.
    It is made close-on-exec, so no child inherits it (and keeps it open)."""
    if fd < 3:
        raise ReadyFdError(fd, _problems().STD_STREAM)
    try:
        flags = fcntl.fcntl(fd, fcntl.F_GETFL)
    except OSError:
        raise ReadyFdError(fd, _problems().NOT_OPEN) from None
    if flags & os.O_ACCMODE not in (os.O_WRONLY, os.O_RDWR):
        raise ReadyFdError(fd, _problems().NOT_WRITABLE)
    os.set_inheritable(fd, False)
    return fd


def notify(fd: int | None) -> None:
    """Write the newline and close fd (nothing if None). A reader that has
    gone away (EPIPE) is no reason to fail: nobody is left to tell."""
    if fd is None:
        return
    try:
        os.write(fd, b"\n")
    except OSError:
        pass
    finally:
        os.close(fd)
