"""Timers and deadlines: the alarm()/pause() pattern without its race, and a
command run under a deadline with the behaviour of coreutils timeout.

Every wait blocks its signals first and takes them with ``sigwaitinfo`` /
``sigtimedwait`` (tini's ``wait_and_forward_signal``): a SIGALRM that fires
before we wait stays pending instead of being lost, as it would be between
alarm() and pause(), and no work happens in an asynchronous handler.
"""

from __future__ import annotations

import os
import time

from ._signals import signal  # no enum import: see _signals
from .sigblock import BlockedSignals, take_pending
from .status import ExitStatus

TYPE_CHECKING = False  # typing costs start-up; type checkers read the annotations
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from .supervise import Adopted, Child, Supervisor

__all__ = ["ALARM", "UNTIL", "COUNT", "wait_alarm", "tick", "Deadline", "DeadlineResult", "FORWARDED"]

ALARM, UNTIL, COUNT = "alarm", "until", "count"  # why a wait ended

# Signals sent to alarm-wait that are passed on to the command (coreutils timeout
# catches these four too: left to its default, SIGQUIT would kill alarm-wait and
# leave COMMAND, in its own process group, running).
FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)


def _arm(seconds: float, interval: float = 0.0) -> None:
    signal.setitimer(signal.ITIMER_REAL, seconds, interval)


def wait_alarm(seconds: float, until: int | None = None, on_ready: Callable[[], None] | None = None) -> str:
    """Arm a real-time timer for seconds and wait for its SIGALRM: returns
    ALARM. With until (a signal number), return UNTIL as soon as that signal
    arrives instead; seconds == 0 then means no deadline. Without until,
    seconds == 0 returns ALARM at once. on_ready() is called once the
    signals are blocked and the timer armed: from then on, until sent to us
    is waited for, never lost and never fatal."""
    if seconds <= 0 and until is None:
        if on_ready is not None:
            on_ready()
        return ALARM
    waited = [signal.SIGALRM] + ([until] if until is not None else [])
    with BlockedSignals(waited, drain=[signal.SIGALRM]):
        if seconds > 0:
            _arm(seconds)
        try:
            if on_ready is not None:
                on_ready()
            info = signal.sigwaitinfo(waited)
        finally:
            _arm(0)
    return UNTIL if until is not None and info.si_signo == until else ALARM


def tick(interval: float, on_tick: Callable[[int], None], *, seconds: float | None = None,
         count: int | None = None, until: int | None = None, on_ready: Callable[[], None] | None = None) -> str:
    """Call on_tick(1), on_tick(2), ... at every interval (a re-armed
    interval timer, so ticks do not drift), until count ticks (COUNT), until
    seconds have passed (ALARM; a tick due exactly at that moment still
    happens), or until the signal until arrives (UNTIL). on_ready() is
    called once the signals are blocked and the timer armed."""
    if interval <= 0:
        raise ValueError("tick: the interval must be positive")
    seconds = seconds or None
    ticks_in_time = int((seconds / interval + 1e-9) // 1) if seconds is not None else None  # floor, without math
    limits = [n for n in (count, ticks_in_time) if n is not None]
    limit = min(limits) if limits else None
    waited = [signal.SIGALRM] + ([until] if until is not None else [])
    start = time.monotonic()
    with BlockedSignals(waited, drain=[signal.SIGALRM]):
        try:
            done = 0
            if limit is None or limit > 0:
                _arm(interval, interval)
            if on_ready is not None:
                on_ready()
            while limit is None or done < limit:
                # No timeout here: the next tick is due within the deadline.
                info = signal.sigwaitinfo(waited)
                if until is not None and info.si_signo == until:
                    return UNTIL
                done += 1
                on_tick(done)
            if count is not None and done >= count:
                return COUNT
            # Every tick within the deadline happened: wait out the rest of it.
            _arm(0)
            for _ in take_pending([signal.SIGALRM]):
                pass  # a stale tick
            assert seconds is not None  # without it, the loop ended by count or until
            left = start + seconds - time.monotonic()
            if left <= 0:
                return ALARM
            _arm(left)
            info = signal.sigwaitinfo(waited)
            return UNTIL if until is not None and info.si_signo == until else ALARM
        finally:
            _arm(0)


class DeadlineResult:
    """How the command ended: ``exit``; ``timed_out`` when the deadline signal
    was sent, ``killed`` when KILL had to follow it; ``received_signal``: an
    INT/TERM/HUP sent to us and passed on."""

    def __init__(self, exit: ExitStatus, timed_out: bool = False, killed: bool = False,
                 received_signal: int | None = None):
        self.exit, self.timed_out, self.killed, self.received_signal = exit, timed_out, killed, received_signal

    def status(self, preserve_status: bool = False) -> int:
        """coreutils timeout's exit status: 124 after a timeout (unless
        preserve_status, or the command had to be KILLed: 137), else the
        command's status, 128+N for a signal death."""
        status = self.exit.shell_status
        if self.timed_out and not preserve_status and self.exit.signal != signal.SIGKILL:
            return 124
        return status


class _DeadlinePolicy:
    """What alarm-wait decides; the loop is supervise.Supervisor's. (The
    interface of supervise.Policy, written out: importing supervise here would
    cost the alarm-only waits of alarm-wait about a millisecond of start-up.)"""

    record_argv, sample_io, wait_all, grace, leftovers_kill_after = False, False, False, None, None

    def __init__(self, deadline: Deadline, ending: Sequence[int]):
        self.deadline, self.ending = deadline, tuple(ending)

    def adopted(self, orphan: Adopted) -> None:
        pass  # reaped, and not reported: alarm-wait reports COMMAND only

    def drained(self) -> None:
        pass

    def killing(self, why: str) -> None:
        pass

    def forward(self, sup: Supervisor, signum: int, skip_group: int | None) -> None:
        self.deadline._tell(signum, "passing on")
        sup.send(sup.running(), signum, group=not self.deadline.foreground, skip_group=skip_group, why="passing on")

    def reaped(self, child: Child) -> None:
        assert child.wait_status is not None  # reaped
        self.deadline.exit = ExitStatus.from_wait_status(child.wait_status)


class Deadline:
    """Run argv under a deadline, as coreutils timeout does.

    The command leads its own process group (unless foreground). At
    ``seconds`` it gets ``signum`` (and SIGCONT, so a stopped process sees
    it) with its whole tree, and SIGKILL ``kill_after`` seconds later if the
    command is still there. With subreaper (alarm-wait) the tree is every
    process below us, setsid escapees and orphans included; without, the
    command's descendants and its process group. In the foreground only the
    command itself is signalled, as with coreutils timeout --foreground.
    INT, TERM, HUP and QUIT sent to us are passed on. ``on_send(signum,
    why)`` is told about every signal sent at the deadline or passed on (for
    --verbose). ``parent_death_signal`` is given to the command with
    PR_SET_PDEATHSIG. Raises SpawnError when the command cannot be started."""

    def __init__(self, argv: Sequence[str], seconds: float = 0.0, *, signum: int = signal.SIGTERM,
                 kill_after: float | None = None, foreground: bool = False,
                 on_send: Callable[[int, str], None] | None = None, subreaper: bool = False,
                 parent_death_signal: int | None = None):
        self.argv, self.seconds, self.signum = list(argv), seconds, signum
        self.kill_after, self.foreground, self.on_send = kill_after, foreground, on_send
        self.subreaper, self.parent_death_signal = subreaper and not foreground, parent_death_signal
        self.pid: int | None = None
        self.exit: ExitStatus | None = None

    def run(self) -> DeadlineResult:
        from .spawn import spawn  # not needed by the alarm-only waits
        from .supervise import Supervisor

        with Supervisor(forwarded=FORWARDED, subreaper=self.subreaper) as sup:
            self.pid = spawn(self.argv, process_group=None if self.foreground else 0, sigmask=sup.child_mask,
                             parent_death_signal=self.parent_death_signal)
            sup.add(self.pid)
            return self._wait(sup)

    def _wait(self, sup: Supervisor) -> DeadlineResult:
        policy = _DeadlinePolicy(self, sup.forwarded)
        state = {"timed_out": False, "killed": False}

        def kill_after() -> None:
            if sup.children:
                state["killed"] = True
                self._tell(signal.SIGKILL, "kill-after")
                self._signal(sup, signal.SIGKILL, "kill-after")

        def deadline() -> None:
            state["timed_out"] = True
            if not self.foreground and self.signum:  # -s 0 stops nothing: leftovers are left alone
                sup.stopping = sup.stopping or self.signum
            self._tell(self.signum, "deadline")
            self._signal(sup, self.signum, "deadline")
            if self.kill_after is not None:
                sup.after(self.kill_after, kill_after)

        if self.seconds > 0:
            sup.after(self.seconds, deadline)
        sup.run(policy)  # type: ignore[arg-type]  # _DeadlinePolicy has Policy's interface, written out
        assert self.exit is not None  # the run ends once the command is reaped
        return DeadlineResult(self.exit, state["timed_out"], state["killed"], sup.received_signal)

    def _signal(self, sup: Supervisor, signum: int, why: str) -> None:
        assert self.pid is not None  # the command was started
        if self.foreground:
            sup.send(sup.running(), signum, why=why)
        elif self.subreaper:
            sup.signal_tree([os.getpid()], signum, why=why, include_roots=False, groups=[self.pid])
        else:
            sup.signal_tree([self.pid], signum, why=why, groups=[self.pid])

    def _tell(self, signum: int, why: str) -> None:
        if self.on_send is not None:
            self.on_send(signum, why)
