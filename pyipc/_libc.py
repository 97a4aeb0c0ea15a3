"""The few libc calls the stdlib lacks: prctl(2) and signalfd(2).

Bound with _ctypes, the core that ctypes is built on: importing the whole
ctypes package costs about 2.5 ms more of a command's start-up. Falls back to
ctypes if that private interface ever differs. Nothing here prints or exits;
failures raise OSError with the errno.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # typing costs start-up; type checkers read the annotations
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    Bound = tuple[Callable[..., int], Callable[[], int]]

__all__ = ["prctl", "prctl_function", "signalfd", "read_signals", "SigInfo",
           "PR_SET_PDEATHSIG", "PR_SET_CHILD_SUBREAPER"]

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36

_bound: dict[str, Bound] = {}


def _bind(name: str) -> Bound:
    """(function, get_errno) for libc's name, returning int."""
    if name in _bound:
        return _bound[name]
    try:
        import _ctypes

        class _Int(_ctypes._SimpleCData):  # type: ignore[type-arg]
            _type_ = "i"

        class _Function(_ctypes.CFuncPtr):
            _flags_ = _ctypes.FUNCFLAG_CDECL | _ctypes.FUNCFLAG_USE_ERRNO
            _restype_ = _Int

        class _Libc:
            _handle = _ctypes.dlopen(None, getattr(_ctypes, "RTLD_LOCAL", 0))  # type: ignore[arg-type]  # None: the program itself

        found: Bound = _Function((name, _Libc())), _ctypes.get_errno  # type: ignore[arg-type]  # any object with _handle
    except (ImportError, AttributeError, TypeError, OSError):
        import ctypes

        found = getattr(ctypes.CDLL(None, use_errno=True), name), ctypes.get_errno
    _bound[name] = found
    return found


def prctl_function() -> Callable[..., int]:
    """The bound prctl itself, for a forked child: looked up in the parent, so
    that the child between fork and exec only calls it."""
    return _bind("prctl")[0]


def prctl(option: int, arg: int = 0) -> None:
    function, get_errno = _bind("prctl")
    if function(option, arg, 0, 0, 0) != 0:
        err = get_errno()
        raise OSError(err, f"prctl({option}): {os.strerror(err)}")


def signalfd(signals: Iterable[int]) -> int:
    """A new non-blocking, close-on-exec signalfd for the (blocked) signals:
    readable while one of them is pending for this thread or the process."""
    mask = bytearray(128)  # glibc's sigset_t: 1024 bits
    for signum in signals:
        mask[(signum - 1) // 8] |= 1 << ((signum - 1) % 8)
    function, get_errno = _bind("signalfd")
    fd: int = function(-1, bytes(mask), os.O_CLOEXEC | os.O_NONBLOCK)
    if fd < 0:
        err = get_errno()
        raise OSError(err, f"signalfd: {os.strerror(err)}")
    return fd


class SigInfo:
    """The fields of a signalfd_siginfo that the supervisors read, under the
    names of signal.sigtimedwait's struct_siginfo."""

    __slots__ = ("si_signo", "si_code", "si_pid")

    def __init__(self, signo: int, code: int, pid: int):
        self.si_signo, self.si_code, self.si_pid = signo, code, pid

    def __repr__(self) -> str:
        return f"SigInfo(si_signo={self.si_signo}, si_code={self.si_code}, si_pid={self.si_pid})"


_SIGINFO_SIZE = 128
_ORDER = sys.byteorder  # the struct is in native byte order


def read_signals(fd: int) -> list[SigInfo]:
    """Take every signal pending on a signalfd, without waiting."""
    taken: list[SigInfo] = []
    while True:
        try:
            data = os.read(fd, _SIGINFO_SIZE * 16)
        except BlockingIOError:
            return taken
        if not data:
            return taken
        for offset in range(0, len(data) - _SIGINFO_SIZE + 1, _SIGINFO_SIZE):
            # struct signalfd_siginfo: u32 ssi_signo, s32 ssi_errno, s32 ssi_code, u32 ssi_pid, ...
            signo = int.from_bytes(data[offset:offset + 4], _ORDER)
            code = int.from_bytes(data[offset + 8:offset + 12], _ORDER, signed=True)
            pid = int.from_bytes(data[offset + 12:offset + 16], _ORDER)
            taken.append(SigInfo(signo, code, pid))
