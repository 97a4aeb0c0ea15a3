"""Pipelines: N stages joined by N-1 pipes, every stage reaped, on every path.

Waiting follows tini's ``wait_and_forward_signal``: the signals we care about
(SIGCHLD, and SIGINT/SIGTERM/SIGHUP when forwarding) are blocked before the
first fork and taken with ``sigtimedwait``; no work happens in a handler, and a
SIGCHLD that arrives before we wait stays pending instead of being lost.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterable, Mapping, Sequence

from .cmdline import split_command
from .errors import SpawnError
from .sigblock import BlockedSignals, followed_by_cont, not_ignored, take_pending
from .spawn import Tracer, make_pipe, spawn
from .status import ExitStatus, signal_name

__all__ = ["Pipeline", "PipelineResult", "StageResult", "run_pipeline", "to_argv"]

Stage = "str | Sequence[str]"

# Signals that stop the pipeline early: passed on to every stage, then the
# caller (pipe-run) dies of the same signal once every stage is reaped.
FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def to_argv(stage, *, shell: bool = False) -> list[str]:
    """A stage as argv: a list is taken as it is, a string is split like sh
    would (or, with shell=True, given to /bin/sh -c)."""
    if isinstance(stage, str):
        if shell:
            if not stage.strip():
                split_command(stage)  # raises the same "empty command" error
            return ["/bin/sh", "-c", stage]
        return split_command(stage)
    argv = [os.fsdecode(a) for a in stage]
    if not argv:
        split_command("")
    return argv


class StageResult:
    """How one stage ended. ``error`` is set when it never reached its program.
    (Plain classes here, not dataclasses: start-up time, see ExitStatus.)"""

    def __init__(self, argv: list[str], pid: int | None = None, exit: ExitStatus | None = None,
                 error: SpawnError | None = None, started: float = 0.0, ended: float | None = None):
        self.argv, self.pid, self.exit, self.error = argv, pid, exit, error
        self.started, self.ended = started, ended

    def __repr__(self):
        return f"StageResult(argv={self.argv!r}, pid={self.pid}, status={self.status})"

    @property
    def status(self) -> int:
        """Shell-style status: exit code, 128+N for signal N, 126/127 for exec failures."""
        if self.error is not None:
            return self.error.exit_status
        return self.exit.shell_status if self.exit else 0

    @property
    def signal_name(self) -> str | None:
        return self.exit.signal_name if self.exit else None

    @property
    def wall_s(self) -> float:
        return (self.ended or time.monotonic()) - self.started

    def as_dict(self) -> dict:
        return {
            "argv": self.argv,
            "pid": self.pid,
            "status": self.status,
            "signal": self.signal_name,
            "wall_s": round(self.wall_s, 6),
        }


class PipelineResult:
    """Every stage's result. ``killed``: SIGKILL had to follow the deadline
    signal; ``received_signal``: the INT/TERM/HUP that stopped us (already
    passed on to the stages)."""

    def __init__(self, stages: list[StageResult], pipefail: bool = False, timed_out: bool = False,
                 killed: bool = False, received_signal: int | None = None,
                 spawn_errors: list[SpawnError] | None = None):
        self.stages, self.pipefail, self.timed_out, self.killed = stages, pipefail, timed_out, killed
        self.received_signal = received_signal
        self.spawn_errors = spawn_errors if spawn_errors is not None else []

    def __repr__(self):
        return f"PipelineResult(statuses={self.statuses}, status={self.status}, timed_out={self.timed_out})"

    @property
    def statuses(self) -> list[int]:
        return [stage.status for stage in self.stages]

    @property
    def status(self) -> int:
        """The last stage's status, as in POSIX sh; with pipefail, the rightmost
        non-zero one (bash ``set -o pipefail``)."""
        statuses = self.statuses
        if self.pipefail:
            for value in reversed(statuses):
                if value:
                    return value
            return 0
        return statuses[-1]

    def as_dict(self) -> dict:
        return {"status": self.status, "stages": [stage.as_dict() for stage in self.stages]}


class Pipeline:
    """Start with ``start()``, collect with ``wait()``; use as a context manager
    so that an exception anywhere still kills and reaps every stage."""

    def __init__(
        self,
        stages: Iterable,
        *,
        stdin: int | None = None,
        stdout: int | None = None,
        merge_stderr: bool = False,
        cycle: bool = False,
        shell: bool = False,
        env: Mapping[str, str] | None = None,
        forward_signals: bool = True,
        trace: Tracer | None = None,
    ):
        self.argvs = [to_argv(stage, shell=shell) for stage in stages]
        if not self.argvs:
            raise ValueError("a pipeline needs at least one stage")
        if cycle and (stdin is not None or stdout is not None):
            raise ValueError("a cycle cannot also read stdin from or write stdout to a file")
        self.stdin, self.stdout = stdin, stdout
        self.merge_stderr, self.cycle, self.env = merge_stderr, cycle, env
        self.trace = trace
        self.waited = (signal.SIGCHLD, *not_ignored(FORWARDED)) if forward_signals else (signal.SIGCHLD,)
        self.stages: list[StageResult] = []
        self.spawn_errors: list[SpawnError] = []
        # SIGCHLD is only taken over for the wait: drop a stale one at the end;
        # INT/TERM/HUP are consumed by wait() itself and reported.
        self._blocked = BlockedSignals(self.waited, drain=(signal.SIGCHLD,))
        self._pending: dict[int, StageResult] = {}

    # -- starting -------------------------------------------------------------

    def start(self) -> list[SpawnError]:
        """Fork every stage; returns the stages that could not start (already
        reaped, status 126/127), while the others run, as in bash."""
        self._blocked.block()
        last = len(self.argvs) - 1
        cycle_read = cycle_write = None
        if self.cycle:
            cycle_read, cycle_write = self._pipe()
        stage_stdin = cycle_read if self.cycle else self.stdin
        owned_stdin = self.cycle
        try:
            for index, argv in enumerate(self.argvs):
                next_read = write_end = None
                if index < last:
                    next_read, write_end = self._pipe()
                    stage_stdout = write_end
                else:
                    stage_stdout = cycle_write if self.cycle else self.stdout
                stage_stderr = stage_stdout if (self.merge_stderr and index < last) else None
                self._start_stage(argv, stage_stdin, stage_stdout, stage_stderr)
                # The parent keeps no pipe end a stage owns: otherwise readers never see EOF.
                if owned_stdin:
                    self._close(stage_stdin)
                if write_end is not None:
                    self._close(write_end)
                if index == last and cycle_write is not None:
                    self._close(cycle_write)
                stage_stdin, owned_stdin = next_read, next_read is not None
        except BaseException:
            if owned_stdin and stage_stdin is not None:
                os.close(stage_stdin)
            self.kill(signal.SIGKILL)
            self.close()
            raise
        return self.spawn_errors

    def _pipe(self) -> tuple[int, int]:
        read_end, write_end = make_pipe()
        if self.trace:
            self.trace(f"pipe() = [{read_end}, {write_end}]  (read end, write end)")
        return read_end, write_end

    def _close(self, fd: int) -> None:
        os.close(fd)
        if self.trace:
            self.trace(f"close({fd})")

    def _start_stage(self, argv, stage_stdin, stage_stdout, stage_stderr) -> None:
        result = StageResult(argv=argv, started=time.monotonic())
        self.stages.append(result)
        try:
            result.pid = spawn(
                argv, stdin=stage_stdin, stdout=stage_stdout, stderr=stage_stderr, env=self.env, trace=self.trace
            )
        except SpawnError as exc:
            result.pid, result.error, result.ended = exc.pid, exc, time.monotonic()
            if exc.wait_status is not None:
                result.exit = ExitStatus.from_wait_status(exc.wait_status)
            self.spawn_errors.append(exc)
            if self.trace:
                self.trace(f"exec failed in {exc.pid}: {exc.strerror} ({exc.filename}); reaped")
            return
        self._pending[result.pid] = result

    # -- waiting --------------------------------------------------------------

    def wait(
        self,
        *,
        timeout: float | None = None,
        timeout_signal: int = signal.SIGTERM,
        kill_after: float | None = None,
        pipefail: bool = False,
    ) -> PipelineResult:
        """Wait for every stage. At ``timeout`` seconds (from now) every stage
        still running gets ``timeout_signal``, and SIGKILL ``kill_after``
        seconds later. SIGINT/SIGTERM/SIGHUP sent to us are passed on to every
        stage (a SIGINT typed at the terminal already reached them all, so
        only one sent by a process is passed on) and reported in
        ``received_signal``; the caller decides whether to die of it."""
        result = PipelineResult(stages=self.stages, pipefail=pipefail, spawn_errors=self.spawn_errors)
        deadline = time.monotonic() + timeout if timeout else None
        kill_deadline = None
        try:
            while True:
                self._reap()
                if not self._pending:
                    break
                due = min((d for d in (deadline, kill_deadline) if d is not None), default=None)
                if due is None:
                    info = signal.sigwaitinfo(self.waited)
                else:
                    info = signal.sigtimedwait(self.waited, max(0.0, due - time.monotonic()))
                if info is None or (due is not None and time.monotonic() >= due):
                    now = time.monotonic()
                    if deadline is not None and now >= deadline:
                        deadline = None
                        result.timed_out = True
                        self.kill(timeout_signal, why="deadline")
                        if kill_after is not None:
                            kill_deadline = now + kill_after
                    elif kill_deadline is not None and now >= kill_deadline:
                        kill_deadline = None
                        if self._pending:
                            result.killed = True
                            self.kill(signal.SIGKILL, why="kill-after")
                if info is not None and info.si_signo != signal.SIGCHLD:
                    self._on_signal(info, result)
            # A signal that came with the last SIGCHLD is still pending: take it
            # now, or it would be delivered after we restore the mask.
            for info in take_pending(s for s in self.waited if s != signal.SIGCHLD):
                self._on_signal(info, result)
        finally:
            if self._pending:  # an exception: nothing may outlive us
                self.kill(signal.SIGKILL)
                self._reap(block=True)
            self.close()
        return result

    def _on_signal(self, info, result: PipelineResult) -> None:
        signo = info.si_signo
        if self.trace:
            self.trace(f"received {signal_name(signo)} from pid {info.si_pid}")
        result.received_signal = result.received_signal or signo
        # si_code <= 0: sent by a process (kill, sigqueue, tkill), not by the tty driver.
        if signo != signal.SIGINT or info.si_code <= 0:
            self.kill(signo, why="passing on")

    def _reap(self, block: bool = False) -> None:
        # One SIGCHLD may stand for many exits: look at every stage still running.
        for pid, stage in list(self._pending.items()):
            try:
                got, wait_status = os.waitpid(pid, 0 if block else os.WNOHANG)
            except ChildProcessError:
                got, wait_status = pid, None  # reaped by someone else: status unknown
            if got == 0:
                continue
            stage.ended = time.monotonic()
            if wait_status is not None:
                stage.exit = ExitStatus.from_wait_status(wait_status)
            del self._pending[pid]
            if self.trace:
                how = stage.exit.describe() if stage.exit else "status lost"
                self.trace(f"waitpid({pid}) = {how}")

    def kill(self, signum: int, why: str = "") -> None:
        """Send signum to every stage not yet reaped (an unreaped pid cannot be
        reused), then CONT, as coreutils timeout does: a stopped stage would
        otherwise keep the signal pending, and the pipeline would never end."""
        for sig in followed_by_cont(signum):
            for pid in list(self._pending):
                if self.trace:
                    self.trace(f"kill({pid}, {signal_name(sig)})" + (f"  ({why})" if why else ""))
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass

    def close(self) -> None:
        """Restore the signal mask and SIGCHLD disposition changed by start()."""
        self._blocked.restore()

    def __enter__(self) -> "Pipeline":
        return self

    def __exit__(self, *exc_info) -> None:
        if self._pending:
            self.kill(signal.SIGKILL)
            self._reap(block=True)
        self.close()


def run_pipeline(
    *stages,
    stdin: int | None = None,
    stdout: int | None = None,
    merge_stderr: bool = False,
    cycle: bool = False,
    shell: bool = False,
    pipefail: bool = False,
    timeout: float | None = None,
    timeout_signal: int = signal.SIGTERM,
    kill_after: float | None = None,
    env: Mapping[str, str] | None = None,
    forward_signals: bool = True,
    trace: Tracer | None = None,
) -> PipelineResult:
    """Run stages as ``stage1 | stage2 | ...`` and return every stage's status.

    Example: ``run_pipeline("yes", "head -1").statuses == [141, 0]``; the
    status is 0, or 141 with ``pipefail=True``.
    """
    with Pipeline(
        stages, stdin=stdin, stdout=stdout, merge_stderr=merge_stderr, cycle=cycle, shell=shell,
        env=env, forward_signals=forward_signals, trace=trace,
    ) as pipeline:
        pipeline.start()
        return pipeline.wait(timeout=timeout, timeout_signal=timeout_signal, kill_after=kill_after, pipefail=pipefail)
