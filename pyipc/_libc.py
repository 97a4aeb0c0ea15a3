"""The few libc calls the stdlib lacks: prctl(2), signalfd(2) and tee(2).

They are the optional C extension's (pyipc._speedups) when it was built;
otherwise bound with _ctypes, the core that ctypes is built on: importing the
whole ctypes package costs about 2.5 ms more of a command's start-up. Falls
back to ctypes if that private interface ever differs. Nothing here prints or
exits; failures raise OSError with the errno.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # typing costs start-up; type checkers read the annotations
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from types import ModuleType

    Bound = tuple[Callable[..., int], Callable[[], int]]

__all__ = ["speedups", "prctl", "prctl_function", "tee", "signalfd", "read_signals", "SigInfo",
           "PR_SET_PDEATHSIG", "PR_SET_CHILD_SUBREAPER"]

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36

_bound: dict[str, Bound] = {}
_helper: list[ModuleType | None] = []  # once looked for: [the module, or None]


def speedups() -> ModuleType | None:
    """pyipc._speedups, the optional C extension, or None when it was not
    built or PYIPC_NO_SPEEDUPS is set: then prctl, signalfd and tee go
    through _ctypes, and spawn forks instead of vforking. (A command that spawns then
    loads one small extension module, not _ctypes with its libffi.)"""
    if not _helper:
        module: ModuleType | None = None
        if not os.environ.get("PYIPC_NO_SPEEDUPS"):
            try:
                from . import _speedups
            except ImportError:
                pass
            else:
                module = _speedups
        _helper.append(module)
    return _helper[0]


def _bind(name: str, restype: str = "i", argtypes: str | None = None) -> Bound:
    """(function, get_errno) for libc's name. restype, argtypes: codes of C
    types as struct writes them: i int, I unsigned int, l long (ssize_t),
    L unsigned long (size_t: on Linux a long is as wide as a pointer);
    argtypes None: ints passed as C ints."""
    key = f"{name}:{restype}:{argtypes}"
    if key in _bound:
        return _bound[key]
    try:
        import _ctypes

        def simple(code: str) -> type:
            return type(f"c_{code}", (_ctypes._SimpleCData,), {"_type_": code})

        namespace = {"_flags_": _ctypes.FUNCFLAG_CDECL | _ctypes.FUNCFLAG_USE_ERRNO, "_restype_": simple(restype)}
        if argtypes is not None:
            namespace["_argtypes_"] = tuple(simple(code) for code in argtypes)
        function_type = type("_Function", (_ctypes.CFuncPtr,), namespace)

        class _Libc:
            _handle = _ctypes.dlopen(None, getattr(_ctypes, "RTLD_LOCAL", 0))  # type: ignore[arg-type]  # None: the program itself

        found: Bound = function_type((name, _Libc())), _ctypes.get_errno
    except (ImportError, AttributeError, TypeError, OSError):
        import ctypes

        ctype = {"i": ctypes.c_int, "I": ctypes.c_uint, "l": ctypes.c_long, "L": ctypes.c_ulong}
        function = getattr(ctypes.CDLL(None, use_errno=True), name)
        function.restype = ctype[restype]
        if argtypes is not None:
            function.argtypes = tuple(ctype[code] for code in argtypes)
        found = function, ctypes.get_errno
    _bound[key] = found
    return found


def tee(fd_in: int, fd_out: int, length: int, flags: int) -> int:
    """tee(2): the bytes copied; raises OSError (BlockingIOError for EAGAIN)."""
    helper = speedups()
    if helper is not None:
        copied: int = helper.tee(fd_in, fd_out, length, flags)
        err = -copied if copied < 0 else 0
    else:
        function, get_errno = _bind("tee", "l", "iiLI")
        copied = function(fd_in, fd_out, length, flags)
        err = get_errno() if copied < 0 else 0
    if err:
        raise OSError(err, os.strerror(err))
    return copied


def prctl_function() -> Callable[..., int]:
    """The bound prctl itself, for a forked child: looked up in the parent, so
    that the child between fork and exec only calls it."""
    return _bind("prctl")[0]


def prctl(option: int, arg: int = 0) -> None:
    helper = speedups()
    if helper is not None:
        err = -helper.prctl(option, arg)
    else:
        function, get_errno = _bind("prctl")
        err = get_errno() if function(option, arg, 0, 0, 0) != 0 else 0
    if err:
        raise OSError(err, f"prctl({option}): {os.strerror(err)}")


def signalfd(signals: Iterable[int]) -> int:
    """A new non-blocking, close-on-exec signalfd for the (blocked) signals:
    readable while one of them is pending for this thread or the process."""
    helper = speedups()
    if helper is not None:
        fd: int = helper.signalfd(list(signals))
        err = -fd if fd < 0 else 0
    else:
        mask = bytearray(128)  # glibc's sigset_t: 1024 bits
        for signum in signals:
            mask[(signum - 1) // 8] |= 1 << ((signum - 1) % 8)
        function, get_errno = _bind("signalfd")
        fd = function(-1, bytes(mask), os.O_CLOEXEC | os.O_NONBLOCK)
        err = get_errno() if fd < 0 else 0
    if err:
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
