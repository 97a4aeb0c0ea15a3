"""Timers and deadlines: the alarm()/pause() pattern without its race, and a
command run under a deadline with the behaviour of coreutils timeout.

Every wait blocks its signals first and takes them with ``sigwaitinfo`` /
``sigtimedwait`` (tini's ``wait_and_forward_signal``): a SIGALRM that fires
before we wait stays pending instead of being lost, as it would be between
alarm() and pause(), and no work happens in an asynchronous handler.
"""

from __future__ import annotations

import math
import os
import signal
import time
from collections.abc import Callable, Sequence

from .sigblock import BlockedSignals, followed_by_cont, take_pending
from .status import ExitStatus

__all__ = ["ALARM", "UNTIL", "COUNT", "wait_alarm", "tick", "Deadline", "DeadlineResult", "FORWARDED"]

ALARM, UNTIL, COUNT = "alarm", "until", "count"  # why a wait ended

# Signals sent to alarm-wait that are passed on to the command (coreutils timeout
# catches these four too: left to its default, SIGQUIT would kill alarm-wait and
# leave COMMAND, in its own process group, running).
FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)


def _arm(seconds: float, interval: float = 0.0) -> None:
    signal.setitimer(signal.ITIMER_REAL, seconds, interval)


def wait_alarm(seconds: float, until: int | None = None) -> str:
    """Arm a real-time timer for seconds and wait for its SIGALRM: returns
    ALARM. With until (a signal number), return UNTIL as soon as that signal
    arrives instead; seconds == 0 then means no deadline. Without until,
    seconds == 0 returns ALARM at once."""
    if seconds <= 0 and until is None:
        return ALARM
    waited = [signal.SIGALRM] + ([until] if until is not None else [])
    with BlockedSignals(waited, drain=[signal.SIGALRM]):
        if seconds > 0:
            _arm(seconds)
        try:
            info = signal.sigwaitinfo(waited)
        finally:
            _arm(0)
    return UNTIL if until is not None and info.si_signo == until else ALARM


def tick(interval: float, on_tick: Callable[[int], None], *, seconds: float | None = None,
         count: int | None = None, until: int | None = None) -> str:
    """Call on_tick(1), on_tick(2), ... at every interval (a re-armed
    interval timer, so ticks do not drift), until count ticks (COUNT), until
    seconds have passed (ALARM; a tick due exactly at that moment still
    happens), or until the signal until arrives (UNTIL)."""
    if interval <= 0:
        raise ValueError("tick: the interval must be positive")
    seconds = seconds or None
    ticks_in_time = math.floor(seconds / interval + 1e-9) if seconds is not None else None
    limits = [n for n in (count, ticks_in_time) if n is not None]
    limit = min(limits) if limits else None
    waited = [signal.SIGALRM] + ([until] if until is not None else [])
    start = time.monotonic()
    with BlockedSignals(waited, drain=[signal.SIGALRM]):
        try:
            done = 0
            if limit is None or limit > 0:
                _arm(interval, interval)
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


class Deadline:
    """Run argv under a deadline, as coreutils timeout does.

    The command leads its own process group (unless foreground), so the
    deadline signal reaches everything it started. At ``seconds`` the group
    gets ``signum`` (and SIGCONT, so a stopped process sees it), and SIGKILL
    ``kill_after`` seconds later if the command is still there. INT, TERM and
    HUP sent to us are passed on. ``on_send(signum, why)`` is told about every
    signal sent (for --verbose). Raises SpawnError when the command cannot be
    started."""

    def __init__(self, argv: Sequence[str], seconds: float = 0.0, *, signum: int = signal.SIGTERM,
                 kill_after: float | None = None, foreground: bool = False,
                 on_send: Callable[[int, str], None] | None = None):
        self.argv, self.seconds, self.signum = list(argv), seconds, signum
        self.kill_after, self.foreground, self.on_send = kill_after, foreground, on_send
        self.pid: int | None = None
        self._reaped = False

    def run(self) -> DeadlineResult:
        waited = [signal.SIGCHLD, *FORWARDED]
        # Drained at the end, the forwarded signals too: one that comes after
        # COMMAND has been reaped has nothing left to reach, and alarm-wait
        # exits with COMMAND's status (as coreutils timeout does), not by it.
        with BlockedSignals(waited, drain=waited):
            from .spawn import spawn  # not needed by the alarm-only waits

            try:
                self.pid = spawn(self.argv, process_group=None if self.foreground else 0)
                return self._wait(waited)
            finally:
                if self.pid is not None and not self._reaped:  # an exception: nothing outlives us
                    self._send(signal.SIGKILL, "cleaning up")
                    os.waitpid(self.pid, 0)

    def _wait(self, waited) -> DeadlineResult:
        now = time.monotonic()
        deadline = now + self.seconds if self.seconds > 0 else None
        kill_at = None
        timed_out = killed = False
        received = None
        while True:
            got, wait_status = os.waitpid(self.pid, os.WNOHANG)
            if got:
                self._reaped = True
                return DeadlineResult(ExitStatus.from_wait_status(wait_status), timed_out, killed, received)
            due = min((d for d in (deadline, kill_at) if d is not None), default=None)
            if due is None:
                info = signal.sigwaitinfo(waited)
            else:
                info = signal.sigtimedwait(waited, max(0.0, due - time.monotonic()))
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                deadline, timed_out = None, True
                self._send(self.signum, "deadline")
                if self.kill_after is not None:
                    kill_at = now + self.kill_after
            elif kill_at is not None and now >= kill_at:
                kill_at, killed = None, True
                self._send(signal.SIGKILL, "kill-after")
            if info is not None and info.si_signo != signal.SIGCHLD:
                received = received or info.si_signo
                # In the foreground, a Ctrl-C or Ctrl-\ typed at the terminal (si_code > 0:
                # from the kernel) already reached the command: pass on only
                # what a process sent (kill, sigqueue).
                if not (self.foreground and info.si_signo in (signal.SIGINT, signal.SIGQUIT) and info.si_code > 0):
                    self._send(info.si_signo, "passing on")

    def _send(self, signum: int, why: str) -> None:
        if self.on_send is not None:
            self.on_send(signum, why)
        target = self.pid if self.foreground else -self.pid
        for sig in followed_by_cont(signum):
            try:
                os.kill(target, sig)
            except ProcessLookupError:
                pass  # already gone; waitpid will say how
