"""Sending signals to targets, unambiguously, and waiting for them to be gone.

A target is one of: a pid (> 0), our own process group (0), a process group
(-PGID), or every process we may signal (-1). The spelling is strict: an
integer and nothing else, so that nothing is ever reinterpreted (procps kill
takes ``-100`` as "signal 100 to everyone"). Waiting uses a pidfd opened
before the signal is sent, so that a pid reused after the target died is never
mistaken for the target.
"""

from __future__ import annotations

import errno
import os
import select
import stat
import time

from ._signals import signal  # no enum import: see _signals
from .durations import poll_ms
from .errors import PyipcError
from .integers import InvalidNumber, parse_int, parse_pid
from .procfs import pids, proc_info

__all__ = ["Target", "parse_target", "BadPidfile", "read_pidfile", "sigqueue", "Sender", "EVERYONE"]

EVERYONE = -1
_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1
# How often a process group is looked at again while waiting: groups have no pidfd.
_GROUP_POLL_S = 0.01


class Target:
    """One thing to signal. ``pid`` is as kill(2) takes it; ``source`` is where
    it came from ('' for the command line, or a pidfile path)."""

    # A plain class, not a dataclass: generating one costs a few ms of start-up.
    __slots__ = ("pid", "source", "pidfd", "error", "gone")

    def __init__(self, pid: int, source: str = ""):
        self.pid, self.source = pid, source
        self.pidfd: int | None = None
        self.error: OSError | None = None
        self.gone = False

    def __repr__(self) -> str:
        return f"Target({self.pid!r}, source={self.source!r}, error={self.error!r}, gone={self.gone!r})"

    @property
    def kind(self) -> str:
        if self.pid > 0:
            return "process"
        if self.pid == 0:
            return "own process group"
        if self.pid == EVERYONE:
            return "every process"
        return "process group"

    def describe(self) -> str:
        """'4321', 'process group 77', 'own process group', '4321 (from run.pid)'."""
        if self.pid > 0:
            text = str(self.pid)
        elif self.pid < EVERYONE:
            text = f"process group {-self.pid}"
        else:
            text = self.kind
        return f"{text} (from {self.source})" if self.source else text


def parse_target(text: str) -> Target:
    """'4321' -> pid, '0' -> own group, '-77' -> group 77, '-1' -> everyone.
    Anything that is not an integer (ASCII digits, pyipc.integers) raises
    InvalidNumber, a UsageError."""
    return Target(parse_int(text, "target", _INT_MIN, _INT_MAX))


class BadPidfile(PyipcError, ValueError):
    """A pidfile that was read but holds no pid, or is not a regular file.

    ``path``; ``file_kind`` is what it is when it is not a regular file ('a
    FIFO', 'a directory', ...), else None; ``found`` the first line (bytes,
    at most 40) when it holds no pid."""

    def __init__(self, path: str, *, file_kind: str | None = None, found: bytes = b""):
        self.path, self.file_kind, self.found = path, file_kind, found
        super().__init__(path, file_kind, found)


def read_pidfile(path: str) -> Target:
    """The pid written in path (its first line, white space around it ignored).

    Opened with O_NONBLOCK, and refused unless a regular file: a FIFO or a
    terminal would block open() or read() forever. Raises OSError (with the
    filename) when it cannot be opened or read, BadPidfile otherwise."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise BadPidfile(path, file_kind=_file_kind(mode))
        try:
            data = os.read(fd, 4096)
        except OSError as exc:
            raise OSError(exc.errno, exc.strerror, path) from None
    finally:
        os.close(fd)
    first = data.split(b"\n", 1)[0].strip()
    try:
        return Target(parse_pid(first.decode("ascii")), source=path)
    except (UnicodeDecodeError, InvalidNumber):
        raise BadPidfile(path, found=first[:40]) from None


def _file_kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device")):
        if test(mode):
            return name
    return "not a regular file"


def sigqueue(pid: int, signum: int, value: int) -> None:
    """sigqueue(3): send signum with an integer value (si_value.sival_int).
    Raises OSError with the errno, like os.kill."""
    if pid <= 0:
        raise ValueError("sigqueue sends to one process only (pid > 0)")
    if not _INT_MIN <= value <= _INT_MAX:
        raise ValueError(f"sigqueue value {value} does not fit in a C int")
    import ctypes  # only --queue pays for it

    class sigval(ctypes.Union):
        _fields_ = [("sival_int", ctypes.c_int), ("sival_ptr", ctypes.c_void_p)]

    libc = ctypes.CDLL(None, use_errno=True)
    libc.sigqueue.argtypes = [ctypes.c_int, ctypes.c_int, sigval]
    libc.sigqueue.restype = ctypes.c_int
    if libc.sigqueue(pid, signum, sigval(sival_int=value)) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


class Sender:
    """Signal every target, then optionally wait until they are all gone.

    ``prepare()`` opens a pidfd for each pid target first when waiting (the
    pidfd pins the process: signals and the wait go to it even if its pid is
    reused); ``send()`` records per-target errors instead of raising, so the
    caller can report them all."""

    def __init__(self, targets: list[Target], signum: int, *, queue_value: int | None = None, waiting: bool = False):
        self.targets, self.signum = targets, signum
        self.queue_value, self.waiting = queue_value, waiting
        self._own_pid = os.getpid()

    def prepare(self) -> None:
        if not self.waiting:
            return
        for target in self.targets:
            if target.pid > 0:
                try:
                    target.pidfd = os.pidfd_open(target.pid)
                except OSError as exc:
                    if exc.errno != errno.EINVAL:
                        target.error = exc  # ESRCH: no such process, reported like kill's
                    # EINVAL: a thread id, not a process: kill(2) still takes it; /proc is watched

    def send(self, signum: int | None = None, only_survivors: bool = False) -> None:
        """Signal every target (with only_survivors: those not gone yet).

        When a target is our own process group, kill(2) signals us too: the
        signal is then blocked in this process first, and left blocked, so
        that we live to report (and to wait); a pending copy dies with us."""
        signum = self.signum if signum is None else signum
        if signum not in (0, signal.SIGKILL, signal.SIGSTOP) and any(
            t.pid == 0 or (t.pid < EVERYONE and -t.pid == os.getpgrp()) for t in self.targets
        ):
            signal.pthread_sigmask(signal.SIG_BLOCK, [signum])
        for target in self.targets:
            if target.error is not None or (only_survivors and target.gone):
                continue
            try:
                if self.queue_value is not None and signum != 0:
                    sigqueue(target.pid, signum, self.queue_value)
                elif target.pidfd is not None:
                    signal.pidfd_send_signal(target.pidfd, signum)
                else:
                    os.kill(target.pid, signum)
            except ProcessLookupError as exc:
                if only_survivors:
                    target.gone = True  # it died between the deadline and the escalation
                else:
                    target.error = exc
            except OSError as exc:
                target.error = exc

    @property
    def sent(self) -> list[Target]:
        return [t for t in self.targets if t.error is None]

    @property
    def failed(self) -> list[Target]:
        return [t for t in self.targets if t.error is not None]

    @property
    def survivors(self) -> list[Target]:
        return [t for t in self.sent if not t.gone]

    def wait(self, seconds: float) -> list[Target]:
        """Wait up to seconds until every signalled target is gone; return the
        survivors. A pid target is gone once it has exited (a zombie counts as
        gone); a group once it has no member but zombies (and us)."""
        deadline = time.monotonic() + seconds
        while True:
            self._look()
            survivors = self.survivors
            left = deadline - time.monotonic()
            if not survivors or left <= 0:
                return survivors
            fds = [t.pidfd for t in survivors if t.pidfd is not None]
            if any(t.pidfd is None for t in survivors):
                left = min(left, _GROUP_POLL_S)
            if fds:
                poller = select.poll()
                for fd in fds:
                    poller.register(fd, select.POLLIN)
                poller.poll(poll_ms(left, minimum=1))
            else:
                time.sleep(left)

    def _look(self) -> None:
        for target in self.survivors:
            if target.pidfd is not None:
                ready, _, _ = select.select([target.pidfd], [], [], 0)
                target.gone = bool(ready)
            elif target.pid > 0:  # not opened (waiting was not asked for)
                target.gone = not _pid_alive(target.pid)
            else:
                target.gone = not _group_members(self._own_group_id(target.pid), self._own_pid)

    def _own_group_id(self, pid: int) -> int:
        return os.getpgrp() if pid == 0 else -pid

    def close(self) -> None:
        for target in self.targets:
            if target.pidfd is not None:
                os.close(target.pidfd)
                target.pidfd = None


def _pid_alive(pid: int) -> bool:
    info = proc_info(pid)
    return info is not None and info.state not in "ZX"


def _group_members(pgid: int, exclude: int) -> list[int]:
    """Live (not zombie) processes of group pgid, from /proc."""
    members = []
    for pid in pids():
        if pid == exclude:
            continue
        info = proc_info(pid)
        if info is not None and info.pgid == pgid and info.state not in "ZX":
            members.append(pid)
    return members


def errno_text(exc: OSError) -> str:
    """'No such process', 'Operation not permitted', as kill(1) says it."""
    return exc.strerror or os.strerror(exc.errno or errno.EINVAL)
