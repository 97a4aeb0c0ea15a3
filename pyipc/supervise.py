"""The one supervision loop that pipelines, deadlines and the reaper share.

tini has one ``wait_and_forward_signal``; this is ours. ``Supervisor`` owns the
mechanism: the signals it waits for are blocked before the first fork and
read from a signalfd, polled together with the pidfds of the direct children
(so a SIGCHLD taken by another thread of a library caller cannot hang us);
timers for deadlines; passing signals on (the tty rule: a Ctrl-C typed at the
terminal already reached our own process group); reaping; containment of the
whole tree of processes below us; cleanup on an exception. A ``Policy``
supplies what differs between pipe-run, alarm-wait and reap-watch: which
signals end the run, whom a received signal goes to, what a deadline does,
what to do with each process reaped, and when the run is over.

Containment: as a child subreaper (PR_SET_CHILD_SUBREAPER) every process
orphaned below us is re-parented to us, so "everything we started" is exactly
the processes whose chain of parents reaches us, setsid escapees included.
``signal_tree`` freezes such a tree with SIGSTOP until a scan of /proc finds
nothing new (a stopped process cannot fork), then sends the signal and
SIGCONT: a tree that keeps forking cannot outrun it.

Nothing here prints or exits.
"""

from __future__ import annotations

import os
import select
from ._signals import signal  # no enum import: see _signals
import sys
import time

from . import procfs
from ._libc import PR_SET_CHILD_SUBREAPER, prctl, read_signals, signalfd
from .durations import poll_ms
from .errors import SupervisionError
from .sigblock import BlockedSignals, followed_by_cont, not_ignored

TYPE_CHECKING = False  # typing costs start-up; type checkers read the annotations
if TYPE_CHECKING:
    import resource
    from collections.abc import Callable, Iterable
    from typing import Any

    from ._libc import SigInfo

__all__ = ["Supervisor", "Policy", "Child", "Adopted", "set_child_subreaper", "LEFTOVER_GRACE"]

# After the runner was told to stop (a signal, a deadline) and its direct
# children have ended, what they left behind gets the same signal, and KILL
# this long after (unless the policy gives its own grace).
LEFTOVER_GRACE = 1.0

# A tree that forks faster than we can stop it would keep a freeze going for
# ever; a stopped process cannot fork, so real trees settle in a few rounds.
# Past this many seconds, what was found is signalled (see signal_tree).
_FREEZE_LIMIT = 2.0


def set_child_subreaper(on: bool = True) -> None:
    """prctl(PR_SET_CHILD_SUBREAPER): orphans below us are re-parented to us
    instead of to init. Raises OSError."""
    prctl(PR_SET_CHILD_SUBREAPER, 1 if on else 0)


class Child:
    """A direct child: its pid, and once reaped its raw wait status and rusage."""

    __slots__ = ("pid", "tag", "started", "ended", "wait_status", "usage", "pidfd", "info", "io")

    def __init__(self, pid: int, tag: Any = None, started: float | None = None):
        self.pid, self.tag = pid, tag  # tag: the runner's own record of this child
        self.started = time.monotonic() if started is None else started
        self.ended: float | None = None
        self.wait_status: int | None = None
        self.usage: resource.struct_rusage | None = None
        self.pidfd = -1
        self.info: procfs.ProcInfo | None = None  # its /proc stat line, read while it was a zombie
        self.io: procfs.ProcIO | None = None  # its /proc io counters, read while it was a zombie (Policy.sample_io)


class Adopted:
    """An orphan re-parented to us and reaped: ``info`` is its /proc stat line
    read while it was still a zombie, ``argv`` what it ran if we saw it alive."""

    __slots__ = ("pid", "info", "argv", "wait_status", "usage")

    def __init__(self, pid: int, info: procfs.ProcInfo | None, argv: list[str] | None, wait_status: int,
                 usage: resource.struct_rusage):
        self.pid, self.info, self.argv, self.wait_status, self.usage = pid, info, argv, wait_status, usage


class Policy:
    """What a runner decides; every method has the plain default.

    ``ending``: the received signals that mean "stop" (the others are only
    passed on). ``wait_all``: the run is over only when no process below us
    is left. ``grace``: KILL everything this long after the first ending
    signal; also the time leftovers get between their signal and KILL.
    ``leftovers_kill_after``: when the direct children ended on their own,
    KILL what they left behind this long later (None: leave it running).
    ``record_argv``: after each round of reaping, read the argv of every
    process newly re-parented to us (a zombie's argv is gone), so that
    Adopted.argv is set; it costs a read of /proc per round. ``sample_io``:
    read each direct child's /proc/PID/io while it is a zombie, just before
    it is reaped, into Child.io (None when unreadable).
    """

    ending: tuple[int, ...] = ()
    record_argv: bool = False  # read each adopted process's argv while it still runs (for a report)
    sample_io: bool = False
    wait_all: bool = False
    grace: float | None = None
    leftovers_kill_after: float | None = None

    def forward(self, sup: "Supervisor", signum: int, skip_group: int | None) -> None:
        """Pass a received signal on: by default to every direct child."""
        sup.send(sup.running(), signum, skip_group=skip_group, why="passing on")

    def reaped(self, child: Child) -> None:
        """A direct child ended (child.wait_status, child.usage, child.ended)."""

    def adopted(self, orphan: Adopted) -> None:
        """A process re-parented to us ended and was reaped."""

    def drained(self) -> None:
        """A round of reaping is over (a reporter may write out what it buffered)."""

    def killing(self, why: str) -> None:
        """The loop is about to KILL what is left (why: "grace")."""


class Supervisor:
    """Start with ``begin()``, add each direct child with ``add()``, then
    ``run(policy)``; ``end()`` (or the with-block) restores the signal state.

    forwarded: the signals taken over and passed on (one ignored at start
    stays ignored). subreaper: become a child subreaper, reap adopted
    processes too, and contain the whole tree. Without forwarding and
    subreaper the loop waits on pidfds only and works beside other threads;
    with either, it refuses other threads (SupervisionError): a process-wide
    signal may be taken by any thread that does not block it.
    """

    def __init__(self, *, forwarded: Iterable[int] = (), subreaper: bool = False,
                 trace: Callable[[str], None] | None = None,
                 on_send: Callable[[int, str], None] | None = None):
        self.forwarded = not_ignored(forwarded)
        self.subreaper = subreaper
        self.trace, self.on_send = trace, on_send
        self.children: dict[int, Child] = {}  # direct children not yet reaped
        self.child_mask: tuple[int, ...] | None = None
        self.received_signal: int | None = None
        self.stopping: int | None = None  # the signal that is ending the run (received, or a deadline's)
        self._waited = (signal.SIGCHLD, *self.forwarded)
        self._blocked = BlockedSignals(self._waited, drain=self._waited)
        self._sigfd = -1
        self._poller = select.poll()  # made again by begin()
        self._by_fd: dict[int, Child] = {}
        self._timers: list[list[Any]] = []  # [when, callback]
        self._cleanup_started = False
        self._no_children = False
        self._argv_seen: dict[int, list[str]] = {}
        self._io: dict[int, Callable[[], bool]] = {}  # fd -> what to do when it is ready
        self._io_writes: set[int] = set()

    # -- setting up ------------------------------------------------------------

    def begin(self) -> "Supervisor":
        threading = sys.modules.get("threading")
        if (self.forwarded or self.subreaper) and threading is not None and threading.active_count() > 1:
            raise SupervisionError(threading.active_count())
        if self.subreaper:
            set_child_subreaper()
        # What the children get: the mask we inherited, not the one we wait with.
        self.child_mask = tuple(signal.pthread_sigmask(signal.SIG_BLOCK, []))
        self._blocked.block()
        self._poller = select.poll()
        try:
            self._sigfd = signalfd(self._waited)
        except BaseException:
            self._blocked.restore()
            raise
        self._poller.register(self._sigfd, select.POLLIN)
        return self

    def add(self, pid: int, tag: Any = None, started: float | None = None) -> Child:
        child = Child(pid, tag, started)
        self.children[pid] = child
        if not self.subreaper:  # a subreaper reaps on SIGCHLD; pidfds would cost one fd per child
            child.pidfd = os.pidfd_open(pid)
            self._by_fd[child.pidfd] = child
            self._poller.register(child.pidfd, select.POLLIN)
        return child

    def running(self) -> list[Child]:
        return list(self.children.values())

    def watch(self, fd: int, callback: Callable[[], bool], *, write: bool = False) -> None:
        """Call callback() from the loop whenever fd is readable (write: writable),
        until it returns False: data exchanged with the children (a caller's
        input, captured output) moves in the same loop as reaping, signals and
        deadlines, so neither side waits for the other. The fd must be
        non-blocking; it stays the caller's to close."""
        self._io[fd] = callback
        if write:
            self._io_writes.add(fd)
        self._poller.register(fd, select.POLLOUT if write else select.POLLIN)

    def unwatch(self, fd: int) -> None:
        if self._io.pop(fd, None) is not None:
            self._io_writes.discard(fd)
            self._poller.unregister(fd)

    def after(self, seconds: float, callback: Callable[[], None]) -> None:
        """Call callback (from the loop) seconds from now."""
        self._timers.append([time.monotonic() + seconds, callback])

    # -- the loop ----------------------------------------------------------------

    def run(self, policy: Policy) -> None:
        """Reap, pass signals on and fire timers until the policy's run is over."""
        try:
            policy.drained()
            ready: list[Child] = []
            while True:
                if self.reap(policy, ready):
                    if policy.record_argv and self.subreaper:
                        self._note_adopted()
                    policy.drained()
                if not self.children:
                    self._after_direct_children(policy)
                    if self._over(policy):
                        break
                ready = []
                for fd in self.wait_events(self._timeout()):
                    if fd == self._sigfd:
                        for info in read_signals(fd):
                            self._on_signal(info, policy)
                    elif fd in self._by_fd:
                        ready.append(self._by_fd[fd])
                    elif fd in self._io and not self._io[fd]():
                        self.unwatch(fd)
                self._fire_timers()
            # A signal that came with the last exit is still pending: it came
            # while a child ran, so it counts (there is no one left to pass it to).
            for info in read_signals(self._sigfd):
                if info.si_signo in policy.ending:
                    self.received_signal = self.received_signal or info.si_signo
        except BaseException:
            self.abort()
            raise

    def wait_events(self, timeout: float | None) -> list[int]:
        """One wait for the signalfd and the pidfds, up to timeout seconds:
        the fds that are ready. select(2) while every fd fits in its set (its
        timeout is in microseconds, poll's in whole milliseconds, which would
        make every deadline up to a millisecond late), else poll(2)."""
        fds = [self._sigfd, *self._by_fd, *(fd for fd in self._io if fd not in self._io_writes)]
        if max(fds, default=0) < 1024 and max(self._io_writes, default=0) < 1024:
            readable, writable, _ = select.select(fds, list(self._io_writes), [], timeout)
            return readable + writable
        return [fd for fd, _ in self._poller.poll(None if timeout is None else poll_ms(timeout))]

    def _timeout(self) -> float | None:
        if not self._timers:
            return None
        due: float = min(when for when, _ in self._timers)
        return max(0.0, due - time.monotonic())

    def _fire_timers(self) -> None:
        now = time.monotonic()
        for timer in sorted(self._timers, key=lambda t: t[0]):
            if timer[0] <= now and timer in self._timers:
                self._timers.remove(timer)
                timer[1]()

    def _on_signal(self, info: SigInfo, policy: Policy) -> None:
        signo = info.si_signo
        if signo == signal.SIGCHLD:
            return  # the reaping at the top of the loop looks
        if self.trace:
            from .status import signal_name

            self.trace(f"received {signal_name(signo)} from pid {info.si_pid}")
        ending = signo in policy.ending
        if ending:
            self.received_signal = self.received_signal or signo
        # si_code > 0: from the kernel (the tty driver, for Ctrl-C or Ctrl-\\):
        # every process of our foreground group got it already.
        from_tty = signo in (signal.SIGINT, signal.SIGQUIT) and info.si_code > 0
        policy.forward(self, signo, os.getpgrp() if from_tty else None)
        if ending:
            first = self.stopping is None
            self.stopping = self.stopping or signo
            if first and policy.grace is not None:
                self.after(policy.grace, lambda: self._grace_over(policy))

    def _grace_over(self, policy: Policy) -> None:
        if self.children or self.everything_below():
            policy.killing("grace")
            self.kill_everything("grace")

    def _after_direct_children(self, policy: Policy) -> None:
        """The direct children are gone: deal with what they left behind."""
        if self._cleanup_started or not self.subreaper:
            return
        if self.stopping is not None:
            self._cleanup_started = True
            if self.stopping and self.signal_tree([os.getpid()], self.stopping, why="left behind", include_roots=False):
                self.after(policy.grace if policy.grace is not None else LEFTOVER_GRACE,
                           lambda: self.kill_everything("left behind"))
        elif policy.leftovers_kill_after is not None:
            self._cleanup_started = True
            self.after(policy.leftovers_kill_after, lambda: self.kill_everything("left behind"))

    def _over(self, policy: Policy) -> bool:
        if self.children:
            return False
        if not self.subreaper or not (policy.wait_all or self._cleanup_started):
            return True
        return self._no_children

    # -- reaping -----------------------------------------------------------------

    def reap(self, policy: Policy, ready: Iterable[Child] = ()) -> int:
        """Collect every child that has ended, without blocking; returns how many."""
        if not self.subreaper:
            count = 0
            for child in ready:
                info = procfs.proc_info(child.pid)  # a zombie until wait4: name and start time still there
                io = procfs.proc_io(child.pid) if policy.sample_io else None
                got, wait_status, usage = os.wait4(child.pid, os.WNOHANG)
                if got:
                    child.info, child.io = info, io
                    self._direct_ended(child, wait_status, usage, policy)
                    count += 1
            return count
        count = 0
        while True:
            try:
                peek = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
            except ChildProcessError:
                self._no_children = True
                return count
            except InterruptedError:
                continue
            self._no_children = False
            if peek is None or peek.si_pid == 0:
                return count
            pid = peek.si_pid
            direct = self.children.get(pid)
            # Still a zombie: /proc/PID/stat has its name and start time until wait4.
            info = procfs.proc_info(pid)
            io = procfs.proc_io(pid) if direct is not None and policy.sample_io else None
            _, wait_status, usage = os.wait4(pid, 0)
            if direct is not None:
                direct.info, direct.io = info, io
                self._direct_ended(direct, wait_status, usage, policy)
            else:
                policy.adopted(Adopted(pid, info, self._argv_seen.pop(pid, None), wait_status, usage))
            count += 1

    def _note_adopted(self) -> None:
        # Orphans are re-parented before their parent's SIGCHLD is sent: after
        # a round of reaping, the new ones are among our children already.
        if self._no_children:  # the usual case, known without reading /proc
            return
        for pid in procfs.own_children():
            if pid not in self.children and pid not in self._argv_seen:
                argv = procfs.cmdline(pid)
                if argv:
                    self._argv_seen[pid] = argv

    def _direct_ended(self, child: Child, wait_status: int, usage: resource.struct_rusage, policy: Policy) -> None:
        child.ended, child.wait_status, child.usage = time.monotonic(), wait_status, usage
        self._forget(child)
        policy.reaped(child)

    def _forget(self, child: Child) -> None:
        self.children.pop(child.pid, None)
        if child.pidfd >= 0:
            self._poller.unregister(child.pidfd)
            del self._by_fd[child.pidfd]
            os.close(child.pidfd)
            child.pidfd = -1

    # -- signalling ----------------------------------------------------------------

    def _kill(self, target: int, signum: int, why: str) -> bool:
        if self.trace:
            from .status import signal_name

            self.trace(f"kill({target}, {signal_name(signum) if signum else 0})" + (f"  ({why})" if why else ""))
        try:
            os.kill(target, signum)
            return True
        except (ProcessLookupError, PermissionError):
            return False

    def send(self, children: Iterable[Child], signum: int, *, group: bool = False,
             skip_group: int | None = None, why: str = "") -> list[Child]:
        """signum (then CONT, as coreutils timeout does, so that a stopped
        process acts on it) to each child, or to its process group; none in
        skip_group. An unreaped child's pid cannot have been reused. Returns
        the children it was sent to."""
        targets, sent = [], []
        for child in children:
            try:
                pgid = child.pid if group else os.getpgid(child.pid)
            except ProcessLookupError:
                continue
            if skip_group is not None and pgid == skip_group:
                continue
            targets.append(-child.pid if group else child.pid)
            sent.append(child)
        for sig in followed_by_cont(signum):
            for target in targets:
                self._kill(target, sig, why)
        return sent

    def signal_tree(self, roots: Iterable[int], signum: int, *, why: str = "",
                    include_roots: bool = True, groups: Iterable[int] = (), skip: Iterable[int] = (),
                    first: Iterable[int] = (), spare: Iterable[int] = ()) -> list[int]:
        """signum to every live process below roots (and to roots themselves
        with include_roots; and to the process groups in groups), at once:
        the tree is frozen with SIGSTOP until a scan of /proc finds nothing
        new, then gets signum and CONT. The groups, and any other group than
        ours whose every member is in the tree, are stopped and signalled with
        killpg, which the kernel makes atomic against a fork in progress: a
        group that keeps forking, even faster than /proc can be scanned,
        cannot outrun it. The groups and the pids in first (direct children)
        get signum before the scan, which takes milliseconds on a busy
        machine: the deadline reaches them as promptly as coreutils timeout's
        killpg. Returns the pids signalled; those in skip are left alone, and
        so are the processes in spare with everything below them (a pipeline's
        stages whose turn has not come)."""
        roots, groups, spare = list(roots), set(groups), list(spare)
        if signum == 0:  # kill(2)'s existence check: nothing to freeze, nothing to wake
            for pid in roots:
                self._kill(pid, 0, why)
            return roots
        freeze = signal.SIGKILL if signum == signal.SIGKILL else signal.SIGSTOP
        me, my_group = os.getpid(), os.getpgrp()
        given = {pgid for pgid in groups if pgid != my_group}
        skip = set(skip)
        first = [pid for pid in dict.fromkeys(first) if pid not in skip]
        for sig in followed_by_cont(signum):
            for pgid in given:
                self._kill(-pgid, sig, why)
            for pid in first:
                self._kill(pid, sig, why)
        if given or first:
            os.sched_yield()  # let what was just signalled run (and end) before the scan takes the CPU
        stopped: list[int] = []
        whole_groups: set[int] = set()
        group_of: dict[int, int | None] = {}
        seen: set[int] = skip.union(first)
        give_up = time.monotonic() + _FREEZE_LIMIT
        while True:
            table = procfs.process_table()
            live = {pid: info for pid, info in table.items() if info[1] not in ("Z", "X")}
            found = procfs.below(table, roots)
            if include_roots:
                found += [pid for pid in roots if pid in live]
            if spare:
                spared = set(spare).union(procfs.below(table, spare))
                found = [pid for pid in found if pid not in spared]
            new = [pid for pid in dict.fromkeys(found)
                   if pid not in seen and pid != me and (pid not in live or live[pid][2] not in given)]
            if not new:
                break
            ours = seen.union(found)
            members: dict[int, list[int]] = {}
            for pid, (_, _, pgid) in live.items():
                members.setdefault(pgid, []).append(pid)
            for pid in new:
                group = group_of[pid] = live[pid][2] if pid in live else None
                if group is not None and group != my_group and group not in whole_groups \
                        and all(member in ours for member in members[group]):
                    whole_groups.add(group)
                    self._kill(-group, freeze, why)
            for pid in new:
                if self.subreaper:
                    argv = procfs.cmdline(pid)
                    if argv:
                        self._argv_seen[pid] = argv
                self._kill(pid, freeze, why)
            seen.update(new)
            stopped += new
            if time.monotonic() >= give_up:
                break  # a tree in our own group that forks and exits faster than we scan
        if signum != signal.SIGKILL:
            for sig in (signum, signal.SIGCONT):
                for pgid in whole_groups:
                    self._kill(-pgid, sig, why)
                for pid in stopped:
                    if group_of.get(pid) not in whole_groups:  # killpg reached it already
                        self._kill(pid, sig, why)
        return first + stopped

    def everything_below(self) -> list[int]:
        """Every live process below us now."""
        if self.subreaper and not self._has_children():
            return []  # a subreaper with no child has nothing below it: no need to scan /proc
        return procfs.below(procfs.process_table(), [os.getpid()])

    def _has_children(self) -> bool:
        try:
            os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
            return True
        except ChildProcessError:
            return False

    def left_running(self) -> list[tuple[int, list[str] | None, str]]:
        """(pid, argv, name) of every live process below us now."""
        found = []
        for pid in self.everything_below():
            info = procfs.proc_info(pid)
            found.append((pid, procfs.cmdline(pid), info.name if info else "?"))
        return found

    def kill_everything(self, why: str, groups: Iterable[int] = ()) -> None:
        """KILL the direct children and, as a subreaper, everything below us
        (and the process groups in groups: see signal_tree)."""
        direct = list(self.children)
        if self.subreaper:
            self.signal_tree([os.getpid()], signal.SIGKILL, why=why, include_roots=False, groups=groups, first=direct)
        else:
            self.signal_tree(direct, signal.SIGKILL, why=why, groups=groups, first=direct)

    # -- ending ------------------------------------------------------------------------

    def abort(self) -> None:
        """An exception: nothing may outlive us. KILL, then reap the direct children."""
        if not self.children:
            return
        try:
            self.kill_everything("cleaning up")
        finally:
            for pid in list(self.children):
                try:
                    os.waitpid(pid, 0)
                except ChildProcessError:
                    pass
                self._forget(self.children[pid])

    def end(self) -> None:
        """Undo begin(); safe to call twice."""
        self.abort()
        if self._sigfd >= 0:
            os.close(self._sigfd)
            self._sigfd = -1
        self._blocked.restore()

    def __enter__(self) -> "Supervisor":
        return self.begin()

    def __exit__(self, *exc_info: object) -> None:
        self.end()

