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
import time

from ._signals import signal  # no enum import: see _signals
from ._record import _Record
from .durations import poll_ms
from .errors import SpawnError
from .procfs import ProcInfo, children_of, proc_info
from .procfs import pids as all_pids
from .spawn import spawn
from .status import ExitStatus
from .supervise import Policy, Supervisor, set_child_subreaper

TYPE_CHECKING = False  # typing costs start-up; type checkers read the annotations
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Any

    from .supervise import Adopted, Child

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

class Zombie(_Record):
    __slots__ = ('pid', 'name', 'ppid', 'parent_name', 'age_s')
    pid: int
    name: str
    ppid: int
    parent_name: str
    age_s: float
    # age_s: since the process started: the kernel keeps no time of death

    def as_dict(self) -> dict[str, Any]:
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
    pid: int
    name: str
    exit: ExitStatus
    adopted: bool
    argv: list[str] | None
    wall_s: float | None
    cpu_s: float | None
    max_rss_kb: int | None
    error: SpawnError | None
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

    def as_dict(self) -> dict[str, Any]:
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
    argv: list[str]
    pid: int | None
    started: float
    death: Death | None
    _defaults = {'pid': None, 'started': 0.0, 'death': None}


class LeftRunning(_Record):
    """A process below us still running when the reaper ended (without wait_all)."""

    __slots__ = ('pid', 'name', 'argv')
    pid: int
    name: str
    argv: list[str] | None

    def as_dict(self) -> dict[str, Any]:
        return {"pid": self.pid, "name": self.name, "argv": self.argv, "status": None, "adopted": True,
                "running": True}


class ReapResult(_Record):
    __slots__ = ('children', 'adopted', 'received_signal', 'killed', 'left_running')
    children: list[Death | None]
    adopted: int
    received_signal: int | None
    killed: bool
    left_running: Sequence[LeftRunning]
    _defaults = {'adopted': 0, 'received_signal': None, 'killed': False, 'left_running': ()}
    # children: one per command, in command-line order
    # adopted: how many adopted processes were reaped
    # received_signal: the first forwarded signal, already passed on
    # killed: --grace ran out and KILL was sent
    # left_running: LeftRunning for each process below us still running at the end

    @property
    def status(self) -> int:
        """0 if every direct child exited 0, else the first failing one's shell status."""
        for death in self.children:
            if death is not None and death.status:
                return death.status
        return 0

    @property
    def died_of_received_signal(self) -> bool:
        """A direct child died of the signal we received (cooperative exit)."""
        return self.received_signal is not None and any(
            death is not None and death.error is None and death.exit.signal == self.received_signal
            for death in self.children)


class _ReaperPolicy(Policy):
    """What reap-watch decides; the loop is supervise.Supervisor's."""

    def __init__(self, reaper: "Reaper"):
        self.reaper = reaper
        self.ending = tuple(s for s in ENDING if s in reaper.supervisor.forwarded)
        self.wait_all, self.grace = reaper.wait_all, reaper.grace

    def forward(self, sup: Supervisor, signum: int, skip_group: int | None) -> None:
        sup.send(sup.running(), signum, group=self.reaper.group, skip_group=skip_group, why="passing on")
        if self.wait_all:  # the adopted processes, which have no one else to pass it on
            direct = set(sup.children)
            adopted = [_Adopted(pid) for pid in children_of(os.getpid()) if pid not in direct]
            sup.send(adopted, signum, skip_group=skip_group, why="passing on")  # type: ignore[arg-type]  # send reads .pid only

    def reaped(self, child: Child) -> None:
        self.reaper._direct_died(child)

    def adopted(self, orphan: Adopted) -> None:
        self.reaper._adopted_died(orphan)

    def drained(self) -> None:
        self.reaper.on_drained()

    def killing(self, why: str) -> None:
        self.reaper.result.killed = True


class _Adopted:
    __slots__ = ("pid",)

    def __init__(self, pid: int):
        self.pid = pid


class Reaper:
    """Run commands as direct children of a subreaper and reap everything.

    ``on_death(death)`` is called for each process as soon as it is reaped,
    and ``on_drained()`` (if given) after each round of reaping, before the
    next wait: a reporter can buffer its output and write it there, in one
    call per round instead of one per process. Children that end while later
    ones are still being started are reaped (and reported) between starts.
    Use as a context manager: an exception still kills and reaps the children.
    """

    def __init__(self, argvs: Sequence[Sequence[str]], *, on_death: Callable[[Death], None],
                 on_drained: Callable[[], None] | None = None,
                 group: bool = False, wait_all: bool = False, grace: float | None = None,
                 subreaper: bool = True, parent_death_signal: int | None = None):
        self.children = [_Child(argv=[os.fsdecode(a) for a in argv]) for argv in argvs]
        self.on_death = on_death
        self.on_drained = on_drained or (lambda: None)
        self.group, self.wait_all, self.grace, self.subreaper = group, wait_all, grace, subreaper
        self.parent_death_signal = parent_death_signal
        self.result = ReapResult(children=[None] * len(self.children))
        self.supervisor = Supervisor(forwarded=FORWARDED, subreaper=subreaper)
        self._index: dict[int, int] = {}  # pid -> index of a direct child

    def start(self) -> list[SpawnError]:
        """Become a subreaper and start every command. Returns the commands that
        could not be started (their child already reaped, status 126/127)."""
        sup = self.supervisor
        sup.begin()
        policy = _ReaperPolicy(self)
        errors = []
        for index, child in enumerate(self.children):
            if index and sup.reap(policy):  # one that ended already gets its true wall time
                self.on_drained()
            child.started = time.monotonic()
            try:
                child.pid = spawn(child.argv, process_group=0 if self.group else None, sigmask=sup.child_mask,
                                  parent_death_signal=self.parent_death_signal)
            except SpawnError as exc:
                # spawn already reaped it: report it like any other death.
                errors.append(exc)
                exit_status = ExitStatus.from_wait_status(exc.wait_status) if exc.wait_status is not None \
                    else ExitStatus(exit_code=exc.exit_status)
                self._record(index, Death(exc.pid or 0, os.path.basename(child.argv[0])[:15], exit_status,
                                          adopted=False, argv=child.argv,
                                          wall_s=time.monotonic() - child.started, error=exc))
                continue
            self._index[child.pid] = index
            sup.add(child.pid, tag=index, started=child.started)
        return errors

    def _record(self, index: int, death: Death) -> None:
        self.children[index].death = death
        self.result.children[index] = death
        self.on_death(death)

    def _direct_died(self, reaped: Child) -> None:
        index = reaped.tag
        child = self.children[index]
        info, usage = reaped.info, reaped.usage
        assert reaped.wait_status is not None and reaped.ended is not None  # reaped
        self._record(index, Death(reaped.pid, child_name(child.argv) if info is None else info.name,
                                  ExitStatus.from_wait_status(reaped.wait_status), adopted=False, argv=child.argv,
                                  wall_s=reaped.ended - child.started,
                                  cpu_s=usage.ru_utime + usage.ru_stime if usage else None,
                                  max_rss_kb=usage.ru_maxrss if usage else None))

    def _adopted_died(self, orphan: Adopted) -> None:
        self.result.adopted += 1
        info, usage = orphan.info, orphan.usage
        self.on_death(Death(orphan.pid, info.name if info else "?", ExitStatus.from_wait_status(orphan.wait_status),
                            adopted=True, wall_s=info.age_s if info else None,
                            cpu_s=usage.ru_utime + usage.ru_stime, max_rss_kb=usage.ru_maxrss))

    # -- waiting --------------------------------------------------------------

    def wait(self) -> ReapResult:
        """Reap until every direct child has ended (with wait_all: until we have
        no child at all). Forwarded signals go to the direct children (their
        groups with group=True; with wait_all also to adopted children); after
        a TERM/INT/HUP/QUIT, once they have ended, what they left behind gets
        it too and KILL a grace later. What still runs at the end (without
        wait_all) is listed in ``left_running``."""
        sup = self.supervisor
        policy = _ReaperPolicy(self)
        try:
            sup.run(policy)
            self.result.received_signal = sup.received_signal
            if self.subreaper:
                self.result.left_running = [LeftRunning(pid, name, argv) for pid, argv, name in sup.left_running()]
        finally:
            self.close()
        return self.result

    def kill(self, signum: int) -> None:
        """Send signum to the direct children still running (or their groups)."""
        self.supervisor.send(self.supervisor.running(), signum, group=self.group)

    def close(self) -> None:
        """Kill and reap what still runs (an exception), then restore the
        signal mask and SIGCHLD disposition changed by start()."""
        self.supervisor.end()

    def __enter__(self) -> "Reaper":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def child_name(argv: Sequence[str]) -> str:
    """The name /proc would show for a direct child that exec'd argv (comm: 15 bytes)."""
    return os.path.basename(argv[0])[:15]


# -- processes that are not our children ------------------------------------

class WatchedEnd(_Record):
    """The end of a watched process. Only a parent can wait for an exit status;
    ``exit`` is set when the process was still a zombie when we looked."""

    __slots__ = ('pid', 'name', 'wall_s', 'exit')
    pid: int
    name: str
    wall_s: float | None
    exit: ExitStatus | None
    _defaults = {'exit': None}

    def as_dict(self) -> dict[str, Any]:
        exit = self.exit
        return {"pid": self.pid, "name": self.name, "argv": None,
                "status": exit.shell_status if exit is not None else None,
                "exit_code": exit.exit_code if exit is not None else None,
                "signal": exit.signal_name if exit is not None else None,
                "core_dumped": exit.core_dumped if exit is not None else None,
                "wall_s": None if self.wall_s is None else round(self.wall_s, 6),
                "adopted": False, "watched": True}


class _Watch(_Record):
    __slots__ = ('pid', 'fd', 'info', 'ended')
    pid: int
    fd: int
    info: ProcInfo | None
    ended: bool
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
