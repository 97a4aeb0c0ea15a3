"""Reaping: a child subreaper that collects every process and says how it ended.

The loop follows tini's ``wait_and_forward_signal`` and ``reap_zombies``:
SIGCHLD and the forwarded signals are blocked before the first fork and taken
with ``sigtimedwait``; on each SIGCHLD every waitable child is collected,
because signals of one kind merge and one SIGCHLD can stand for a thousand
exits. Before reaping, each zombie is peeked at with ``waitid(WNOWAIT)`` so
that its name and start time can still be read from ``/proc/PID/stat``; the
real reap is ``wait4``, for CPU time and peak memory.

Also here: watching processes that are not our children (pidfd), and listing
the zombies of the whole machine. Nothing in this module prints or exits.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Sequence

from ._record import _Record
from .durations import poll_ms
from .errors import SpawnError
from .procfs import ProcInfo, children_of, proc_info
from .procfs import pids as all_pids
from .sigblock import BlockedSignals, not_ignored, take_pending
from .spawn import spawn
from .status import ExitStatus

__all__ = [
    "FORWARDED", "Death", "ProcInfo", "Reaper", "ReapResult", "set_child_subreaper", "proc_info",
    "children_of", "list_zombies", "watch_pids", "WatchedEnd",
]

# Passed on to the direct children (tini forwards all but a few; these are the
# ones a user or a service manager sends to stop or poke a job).
FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2, signal.SIGQUIT)
# Of those, the ones that mean "stop": they start --grace, and reap-watch dies of
# the first once its children are gone. USR1/USR2 are pokes (reopen logs, dump
# state): passed on, nothing more, so they do not change the exit status.
ENDING = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT)

_PR_SET_CHILD_SUBREAPER = 36


def set_child_subreaper(on: bool = True) -> None:
    """prctl(PR_SET_CHILD_SUBREAPER): orphans below us are re-parented to us
    instead of to init. Raises OSError."""
    prctl, get_errno = _prctl()
    if prctl(_PR_SET_CHILD_SUBREAPER, 1 if on else 0, 0, 0, 0) != 0:
        err = get_errno()
        raise OSError(err, f"prctl(PR_SET_CHILD_SUBREAPER): {os.strerror(err)}")


def _prctl():
    """prctl(2) from libc, and the errno getter. The stdlib has no prctl; this
    binds it with _ctypes, the core that ctypes is built on, because importing
    the whole ctypes package costs about 2.5 ms more of reap-watch's start-up.
    Falls back to ctypes if that private interface ever differs."""
    try:
        import _ctypes

        class _Int(_ctypes._SimpleCData):
            _type_ = "i"

        class _Function(_ctypes.CFuncPtr):
            _flags_ = _ctypes.FUNCFLAG_CDECL | _ctypes.FUNCFLAG_USE_ERRNO
            _restype_ = _Int

        class _Libc:
            _handle = _ctypes.dlopen(None, getattr(_ctypes, "RTLD_LOCAL", 0))

        return _Function(("prctl", _Libc())), _ctypes.get_errno
    except (ImportError, AttributeError, TypeError, OSError):
        import ctypes

        return ctypes.CDLL(None, use_errno=True).prctl, ctypes.get_errno


class Zombie(_Record):
    __slots__ = ('pid', 'name', 'ppid', 'parent_name', 'age_s')
    # age_s: since the process started: the kernel keeps no time of death

    def as_dict(self) -> dict:
        return {"pid": self.pid, "name": self.name, "ppid": self.ppid, "parent": self.parent_name,
                "age_s": round(self.age_s, 2)}


def list_zombies() -> list[Zombie]:
    """Every process on this machine (in this pid namespace) in state Z."""
    zombies = []
    for pid in all_pids():
        info = proc_info(pid)
        if info is None or info.state != "Z":
            continue
        parent = proc_info(info.ppid)
        zombies.append(Zombie(pid, info.name, info.ppid, parent.name if parent else "?", info.age_s))
    return sorted(zombies, key=lambda z: z.pid)


class Death(_Record):
    """One reaped process: who it was and how it ended."""

    __slots__ = ('pid', 'name', 'exit', 'adopted', 'argv', 'wall_s', 'cpu_s', 'max_rss_kb', 'error')
    _defaults = {'argv': None, 'wall_s': None, 'cpu_s': None, 'max_rss_kb': None, 'error': None}
    # argv: direct children only
    # wall_s: since start (direct: since spawn; adopted: from /proc)
    # cpu_s: user + system, from wait4 (includes its reaped descendants)
    # error: set when a direct child never reached its program

    @property
    def status(self) -> int:
        if self.error is not None:
            return self.error.exit_status
        return self.exit.shell_status

    def as_dict(self) -> dict:
        return {
            "pid": self.pid, "name": self.name, "argv": self.argv, "status": self.status,
            "exit_code": self.exit.exit_code, "signal": self.exit.signal_name,
            "core_dumped": self.exit.core_dumped,
            "wall_s": None if self.wall_s is None else round(self.wall_s, 6),
            "cpu_s": None if self.cpu_s is None else round(self.cpu_s, 6),
            "max_rss_kb": self.max_rss_kb, "adopted": self.adopted,
            **({"error": self.error.reason} if self.error is not None else {}),
        }


class _Child(_Record):
    __slots__ = ('argv', 'pid', 'started', 'death')
    _defaults = {'pid': None, 'started': 0.0, 'death': None}


class ReapResult(_Record):
    __slots__ = ('children', 'adopted', 'received_signal', 'killed')
    _defaults = {'adopted': 0, 'received_signal': None, 'killed': False}
    # children: one per command, in command-line order
    # adopted: how many adopted processes were reaped
    # received_signal: the first forwarded signal, already passed on
    # killed: --grace ran out and KILL was sent

    @property
    def status(self) -> int:
        """0 if every direct child exited 0, else the first failing one's shell status."""
        for death in self.children:
            if death is not None and death.status:
                return death.status
        return 0


class Reaper:
    """Run commands as direct children of a subreaper and reap everything.

    ``on_death(death)`` is called for each process as soon as it is reaped,
    and ``on_drained()`` (if given) after each round of reaping, before the
    next wait: a reporter can buffer its output and write it there, in one
    call per round instead of one per process.
    Use as a context manager: an exception still kills and reaps the children.
    """

    def __init__(self, argvs: Sequence[Sequence[str]], *, on_death: Callable[[Death], None],
                 on_drained: Callable[[], None] | None = None,
                 group: bool = False, wait_all: bool = False, grace: float | None = None,
                 subreaper: bool = True):
        self.children = [_Child(argv=[os.fsdecode(a) for a in argv]) for argv in argvs]
        self.on_death = on_death
        self.on_drained = on_drained or (lambda: None)
        self.group, self.wait_all, self.grace, self.subreaper = group, wait_all, grace, subreaper
        self.waited = (signal.SIGCHLD, *not_ignored(FORWARDED))  # an ignored one stays ignored
        self.result = ReapResult(children=[None] * len(self.children))
        self._pending: dict[int, int] = {}  # pid -> index of a direct child not yet reaped
        # Everything taken over is dropped at the end if not consumed: it is
        # recorded in received_signal, and unblocking it would kill us before we report.
        self._blocked = BlockedSignals(self.waited, drain=self.waited)
        self._no_children = False

    def start(self) -> list[SpawnError]:
        """Become a subreaper and start every command. Returns the commands that
        could not be started (their child already reaped, status 126/127)."""
        if self.subreaper:
            set_child_subreaper()
        self._blocked.block()
        errors = []
        for index, child in enumerate(self.children):
            child.started = time.monotonic()
            try:
                child.pid = spawn(child.argv, process_group=0 if self.group else None)
            except SpawnError as exc:
                # spawn already reaped it: report it like any other death.
                errors.append(exc)
                exit_status = ExitStatus.from_wait_status(exc.wait_status) if exc.wait_status is not None \
                    else ExitStatus(exit_code=exc.exit_status)
                self._record(index, Death(exc.pid or 0, os.path.basename(child.argv[0])[:15], exit_status,
                                          adopted=False, argv=child.argv,
                                          wall_s=time.monotonic() - child.started, error=exc))
                continue
            self._pending[child.pid] = index
        return errors

    def _record(self, index: int, death: Death) -> None:
        self.children[index].death = death
        self.result.children[index] = death
        self.on_death(death)

    # -- waiting --------------------------------------------------------------

    def wait(self) -> ReapResult:
        """Reap until every direct child has ended (with wait_all: until we have
        no child at all). Forwarded signals go to the direct children (their
        groups with group=True; with wait_all also to adopted children)."""
        kill_at = None
        try:
            self.on_drained()  # what start() reported
            while True:
                if self.reap():
                    self.on_drained()
                if self._done():
                    # A signal sent to us while the last child was ending can
                    # still be pending with its SIGCHLD (reap() found the child
                    # gone before sigwaitinfo took the signal): it came while a
                    # child ran, so it counts; restore() would drop it.
                    for info in take_pending(s for s in self.waited if s != signal.SIGCHLD):
                        self._on_signal(info)
                    break
                if kill_at is None or self.result.killed:
                    info = signal.sigwaitinfo(self.waited)
                else:
                    info = signal.sigtimedwait(self.waited, max(0.0, kill_at - time.monotonic()))
                if info is not None and info.si_signo != signal.SIGCHLD:
                    if self._on_signal(info) and self.grace is not None and kill_at is None:
                        kill_at = time.monotonic() + self.grace
                if kill_at is not None and not self.result.killed and time.monotonic() >= kill_at:
                    self.result.killed = True
                    self.kill(signal.SIGKILL)
        finally:
            if self._pending:  # an exception: no direct child may outlive us
                self.kill(signal.SIGKILL)
                self._reap_direct_blocking()
            self.close()
        return self.result

    def _done(self) -> bool:
        if self._pending:
            return False
        return not self.wait_all or self._no_children

    def _on_signal(self, info) -> bool:
        """Pass a signal on; True if it is one that ends us (not a USR1/USR2 poke)."""
        signo = info.si_signo
        ending = signo in ENDING
        if ending:
            self.result.received_signal = self.result.received_signal or signo
        # si_code > 0: sent by the kernel (the tty driver, for Ctrl-C). Every
        # process of our (foreground) group got it already: the direct
        # children without --group, and adopted processes still in it.
        from_tty = signo in (signal.SIGINT, signal.SIGQUIT) and info.si_code > 0
        self.kill(signo, skip_group=os.getpgrp() if from_tty else None)
        return ending

    def _targets(self) -> list[tuple[int, bool]]:
        """(id, is_group) of whatever a forwarded signal should reach now."""
        targets = [(pid, self.group) for pid in self._pending]
        if self.wait_all:
            me = os.getpid()
            direct = {child.pid for child in self.children}
            targets += [(pid, False) for pid in children_of(me) if pid not in direct]
        return targets

    def kill(self, signum: int, skip_group: int | None = None) -> None:
        """Send signum to the direct children still running (or their groups),
        and with wait_all to the adopted processes; none in skip_group."""
        for target, is_group in self._targets():
            try:
                if skip_group is not None and (target if is_group else os.getpgid(target)) == skip_group:
                    continue
                if is_group:
                    os.killpg(target, signum)
                else:
                    os.kill(target, signum)
            except (ProcessLookupError, PermissionError):
                pass

    def reap(self) -> int:
        """Collect every child that has ended, without blocking; returns how many."""
        count = 0
        while True:
            try:
                peek = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
            except ChildProcessError:
                self._no_children = True
                return count
            except InterruptedError:
                continue
            if peek is None or peek.si_pid == 0:
                self._no_children = False  # some are still running
                return count
            self._no_children = False
            self._reap_one(peek.si_pid)
            count += 1

    def _reap_one(self, pid: int) -> None:
        # Still a zombie: /proc/PID/stat has its name and start time until wait4.
        info = proc_info(pid)
        _, wait_status, usage = os.wait4(pid, 0)
        exit_status = ExitStatus.from_wait_status(wait_status)
        cpu = usage.ru_utime + usage.ru_stime
        index = self._pending.pop(pid, None)
        if index is not None:
            child = self.children[index]
            self._record(index, Death(pid, info.name if info else os.path.basename(child.argv[0])[:15],
                                      exit_status, adopted=False, argv=child.argv,
                                      wall_s=time.monotonic() - child.started, cpu_s=cpu,
                                      max_rss_kb=usage.ru_maxrss))
            return
        self.result.adopted += 1
        self.on_death(Death(pid, info.name if info else "?", exit_status, adopted=True,
                            wall_s=info.age_s if info else None, cpu_s=cpu, max_rss_kb=usage.ru_maxrss))

    def _reap_direct_blocking(self) -> None:
        for pid in list(self._pending):
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
            self._pending.pop(pid, None)

    def close(self) -> None:
        """Restore the signal mask and SIGCHLD disposition changed by start()."""
        self._blocked.restore()

    def __enter__(self) -> "Reaper":
        return self

    def __exit__(self, *exc_info) -> None:
        if self._pending:
            self.kill(signal.SIGKILL)
            self._reap_direct_blocking()
        self.close()


# -- processes that are not our children ------------------------------------

class WatchedEnd(_Record):
    """The end of a watched process. Only a parent can wait for an exit status;
    ``exit`` is set when the process was still a zombie when we looked."""

    __slots__ = ('pid', 'name', 'wall_s', 'exit')
    _defaults = {'exit': None}

    def as_dict(self) -> dict:
        known = self.exit is not None
        return {"pid": self.pid, "name": self.name, "argv": None,
                "status": self.exit.shell_status if known else None,
                "exit_code": self.exit.exit_code if known else None,
                "signal": self.exit.signal_name if known else None,
                "core_dumped": self.exit.core_dumped if known else None,
                "wall_s": None if self.wall_s is None else round(self.wall_s, 6),
                "adopted": False, "watched": True}


class _Watch(_Record):
    __slots__ = ('pid', 'fd', 'info', 'ended')
    _defaults = {'ended': False}


def watch_pids(pids: Sequence[int], *, on_end: Callable[[WatchedEnd], None],
               timeout: float | None = None) -> bool:
    """Wait for processes that are not our children to end, via pidfd; call
    on_end for each as it ends. Returns False if the timeout ran out first.
    Raises ProcessLookupError (filename: the pid) for a pid that does not exist."""
    import select

    watches: dict[int, _Watch] = {}
    try:
        for pid in dict.fromkeys(pids):
            try:
                fd = os.pidfd_open(pid)
            except OSError as exc:
                raise type(exc)(exc.errno, exc.strerror, str(pid)) from None
            watches[fd] = _Watch(pid, fd, proc_info(pid))
        poller = select.poll()
        for fd in watches:
            poller.register(fd, select.POLLIN)
        deadline = None if timeout is None else time.monotonic() + timeout
        left = len(watches)
        while left:
            wait_ms = None if deadline is None else poll_ms(deadline - time.monotonic())
            events = poller.poll(wait_ms)
            if not events and deadline is not None and time.monotonic() >= deadline:
                return False
            for fd, _ in events:
                watch = watches[fd]
                if watch.ended:
                    continue
                watch.ended = True
                poller.unregister(fd)
                left -= 1
                on_end(_ended(watch))
        return True
    finally:
        for fd in watches:
            os.close(fd)


def _ended(watch: _Watch) -> WatchedEnd:
    before = watch.info
    name = before.name if before else "?"
    wall = before.age_s if before else None
    now = proc_info(watch.pid)
    exit_status = None
    # If its parent has not reaped it yet, the zombie's stat line still holds
    # the wait status (Linux 3.5+); the start time proves it is the same process.
    if before and now and now.state == "Z" and now.start_ticks == before.start_ticks and now.exit_code is not None:
        try:
            exit_status = ExitStatus.from_wait_status(now.exit_code)
        except ValueError:
            exit_status = None
    return WatchedEnd(watch.pid, name, wall, exit_status)
