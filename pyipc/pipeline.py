"""Pipelines: N stages joined by N-1 pipes, every stage reaped, on every path.

Waiting is supervise.Supervisor's one loop; this module gives it the policy
of a pipeline: which signals end it, what a deadline does and in which order
the stages are signalled (all at once, or upstream first with a grace for
each downstream stage), what is recorded of each process reaped (status,
rusage, /proc/PID/io, whether the runner signalled it, whether its SIGPIPE
was its reader's doing).
"""

from __future__ import annotations

import os
import select
import sys
import time

from ._signals import signal  # no enum import: see _signals
from .cmdline import parse_command, split_command
from .errors import EXIT_SIGNAL_BASE, EXIT_TIMEOUT, PyipcError, ShellOperatorError, SpawnError, UsageError
from .spawn import Tracer, make_pipe, spawn
from .status import ExitStatus
from .supervise import Policy, Supervisor

__all__ = ["Pipeline", "PipelineResult", "StageResult", "AdoptedProcess", "PipelineError", "run_pipeline", "to_argv",
           "all_at_once", "upstream_first", "STAGE_GRACE"]

TYPE_CHECKING = False  # typing costs start-up; type checkers read the annotations
if TYPE_CHECKING:
    import resource
    from collections.abc import Callable, Iterable, Mapping, Sequence
    from typing import Any

    from .procfs import ProcInfo, ProcIO
    from .supervise import Adopted, Child

    Stage = str | Sequence[str]  # a command line split as sh would, or an argv

# Signals that stop the pipeline early: passed on to every stage; the caller
# (pipe-run) dies of the same signal once every stage is reaped, if one of
# them died of it (cooperative exit).
FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)

# upstream_first: how long a downstream stage may take to finish once the
# stage feeding it has ended (or has been signalled and not ended), before it
# gets the signal too.
STAGE_GRACE = 1.0


def to_argv(stage: Stage, *, shell: bool = False) -> list[str]:
    """A stage as argv: a list is taken as it is, a string is split like sh
    would (or, with shell=True, given to /bin/sh -c); leading NAME=value words
    of a string are not in it (they set the stage's environment)."""
    return _command(stage, shell)[1]


def _command(stage: Stage, shell: bool) -> tuple[dict[str, str], list[str]]:
    """A stage's own environment variables (sh's NAME=value words before the
    command) and its argv. pyipc.cmdline raises ShellOperatorError for what sh
    would take as an operator (ls | wc, echo hi > out), UsageError for the rest."""
    if isinstance(stage, str):
        if shell:
            if not stage.strip():
                split_command(stage)  # raises the same "empty command" error
            return {}, ["/bin/sh", "-c", stage]
        return parse_command(stage)
    argv = [os.fsdecode(a) for a in stage]
    if not argv:
        split_command("")
    return {}, argv


class StageResult:
    """How one stage ended. ``error`` is set when it never reached its program.
    ``usage``: its rusage from wait4 (it and the descendants it waited for);
    ``io``: its /proc/PID/io read just before it was reaped (its own reads
    and writes; None if unreadable); ``stopped_by``: "deadline" or "signal"
    when the runner (or, for a signal, the terminal) sent it the signal that
    stopped the pipeline before it ended, else None; ``signals_sent``: the
    signals the runner sent it (CONT aside); ``sigpipe_forgiven``: it died of
    SIGPIPE (or exited 141, a shell's way of saying its command did) when no
    process held the read end of the pipe it writes to any
    more (Pipeline(sigpipe_ok=True) only). (Plain classes here, not
    dataclasses: start-up time, see ExitStatus.)"""

    def __init__(self, argv: list[str], pid: int | None = None, exit: ExitStatus | None = None,
                 error: SpawnError | None = None, started: float = 0.0, ended: float | None = None):
        self.argv, self.pid, self.exit, self.error = argv, pid, exit, error
        self.started, self.ended = started, ended
        self.stderr: bytes | None = None  # run_pipeline(capture_output=True): what it wrote to stderr
        self.usage: resource.struct_rusage | None = None
        self.io: ProcIO | None = None
        self.stopped_by: str | None = None
        self.signals_sent: list[int] = []
        self.sigpipe_forgiven = False
        self.env: dict[str, str] = {}  # its own NAME=value words (LC_ALL=C sort), added to the environment

    def __repr__(self) -> str:
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

    @property
    def cpu_s(self) -> float | None:
        """User plus system CPU time (None until reaped, or if it never started)."""
        return None if self.usage is None else self.usage.ru_utime + self.usage.ru_stime

    @property
    def max_rss_kib(self) -> int | None:
        """Its largest resident set size in KiB (Linux's ru_maxrss), or None."""
        return None if self.usage is None else self.usage.ru_maxrss

    def as_dict(self) -> dict[str, Any]:
        from .status import signal_name

        usage, io = self.usage, self.io
        return {
            "argv": self.argv,
            "env": self.env,
            "pid": self.pid,
            "status": self.status,
            "signal": self.signal_name,
            "wall_s": round(self.wall_s, 6),
            "stopped_by": self.stopped_by,
            "signals_sent": [signal_name(signum) for signum in self.signals_sent],
            "sigpipe_forgiven": self.sigpipe_forgiven,
            "cpu_s": None if usage is None else round(usage.ru_utime + usage.ru_stime, 6),
            "user_s": None if usage is None else round(usage.ru_utime, 6),
            "sys_s": None if usage is None else round(usage.ru_stime, 6),
            "max_rss_kib": self.max_rss_kib,
            "bytes_read": None if io is None else io.rchar,
            "bytes_written": None if io is None else io.wchar,
        }


class AdoptedProcess:
    """A process a stage left behind, re-parented to us (a subreaper) and
    reaped: ``argv`` as seen while it ran (or its name from /proc), ``exit``."""

    def __init__(self, pid: int, argv: list[str], exit: ExitStatus):
        self.pid, self.argv, self.exit = pid, argv, exit

    def as_dict(self) -> dict[str, Any]:
        return {"pid": self.pid, "argv": self.argv,
                "status": self.exit.shell_status if self.exit else None,
                "signal": self.exit.signal_name if self.exit else None}


class PipelineResult:
    """Every stage's result. ``killed``: SIGKILL had to follow the deadline
    signal; ``received_signal``: the INT/TERM/HUP/QUIT that stopped us
    (already passed on to the stages). As a subreaper: ``adopted``, the
    processes the stages left behind that ended before we did, and
    ``left_running``, those still running when we ended, as (pid, argv).
    ``sigpipe_ok``: the pipeline told a stage's SIGPIPE caused by its reader
    (StageResult.sigpipe_forgiven) from any other; such a stage counts as 0
    in ``status``."""

    def __init__(self, stages: list[StageResult], pipefail: bool = False, timed_out: bool = False,
                 killed: bool = False, received_signal: int | None = None,
                 spawn_errors: list[SpawnError] | None = None, sigpipe_ok: bool = False):
        self.stages, self.pipefail, self.timed_out, self.killed = stages, pipefail, timed_out, killed
        self.received_signal, self.sigpipe_ok = received_signal, sigpipe_ok
        self.spawn_errors = spawn_errors if spawn_errors is not None else []
        self.adopted: list[AdoptedProcess] = []
        self.left_running: list[tuple[int, list[str]]] = []
        self.stdout: bytes | None = None  # run_pipeline(capture_output=True): the last stage's output

    def __repr__(self) -> str:
        return f"PipelineResult(statuses={self.statuses}, status={self.status}, timed_out={self.timed_out})"

    @property
    def statuses(self) -> list[int]:
        return [stage.status for stage in self.stages]

    @property
    def status(self) -> int:
        """The last stage's status, as in POSIX sh; with pipefail, the rightmost
        non-zero one (bash ``set -o pipefail``). A forgiven SIGPIPE counts as 0."""
        statuses = [0 if stage.sigpipe_forgiven else stage.status for stage in self.stages]
        if self.pipefail:
            for value in reversed(statuses):
                if value:
                    return value
            return 0
        return statuses[-1]

    @property
    def died_of_received_signal(self) -> bool:
        """A stage died of the signal we received: the cooperative-exit rule
        (bash, tini) says the runner should then die of it too. Not after the
        deadline: as coreutils timeout, 124 then wins (the stage may have died
        of the deadline's signal)."""
        return not self.timed_out and self.received_signal is not None and any(
            stage.exit is not None and stage.exit.signal == self.received_signal for stage in self.stages)

    @property
    def exit_status(self) -> int:
        """What pipe-run exits with, as ``$?`` shows it: 128+N when it dies of
        the signal N it received (died_of_received_signal), 124 when the
        deadline was reached, else ``status``."""
        if self.died_of_received_signal and self.received_signal is not None:
            return EXIT_SIGNAL_BASE + self.received_signal
        return EXIT_TIMEOUT if self.timed_out else self.status

    def as_dict(self) -> dict[str, Any]:
        """The report: ``status`` is exit_status, ``pipeline_status`` the
        pipeline's own (``status``)."""
        from .status import signal_name

        received = self.received_signal
        return {"status": self.exit_status, "pipeline_status": self.status, "timed_out": self.timed_out,
                "killed": self.killed, "received_signal": signal_name(received) if received else None,
                "pipefail": self.pipefail, "sigpipe_ok": self.sigpipe_ok,
                "stages": [stage.as_dict() for stage in self.stages],
                "adopted": [a.as_dict() for a in self.adopted] +
                           [{"pid": pid, "argv": argv, "status": None, "signal": None, "running": True}
                            for pid, argv in self.left_running]}


def all_at_once(stages: list[StageResult]) -> list[list[StageResult]]:
    """The deadline order of coreutils timeout: every stage in one wave."""
    return [stages]


def upstream_first(stages: list[StageResult]) -> list[list[StageResult]]:
    """One wave per stage, in pipeline order: the stage that feeds the others
    first, so that each downstream stage gets end-of-file and time to finish
    (Pipeline.wait's stage_grace) before it is signalled."""
    return [[stage] for stage in stages]


class _Stopper:
    """Signals the stages still running, for the deadline or for a received
    signal passed on, in the waves of an order (each stage with its whole
    tree of processes, a wave at once). A wave gets the signal ``grace``
    seconds after the wave before it has ended (its readers have had
    end-of-file that long), or ``grace`` seconds after that wave got the
    signal if it is still running then; a wave whose stages have all ended
    is passed over. A second deadline or signal while a stop is under way
    goes to every stage still running at once. With a subreaper, the first
    wave also reaches what the stages left behind (the processes below us
    that are not below a stage of a later wave)."""

    def __init__(self, pipeline: "Pipeline", order: Callable[[list[StageResult]], list[list[StageResult]]],
                 grace: float):
        self.pipeline, self.sup, self.order, self.grace = pipeline, pipeline._started(), order, grace
        self.waves: list[list[StageResult]] = []
        self.next = 0  # the next wave to signal
        self.signum, self.cause = 0, ""
        self.done: set[int] = set()  # the pids signalled by this stop
        self._turn = 0  # only the latest timer may signal the next wave

    def running(self, stages: Iterable[StageResult]) -> list[StageResult]:
        children = self.sup.children
        return [stage for stage in stages if stage.pid is not None and stage.pid in children]

    def start(self, signum: int, cause: str) -> None:
        """Stop the pipeline (cause: "deadline" or "signal")."""
        running = self.running(self.pipeline.stages)
        if self.waves:  # a stop under way, and now another: no more patience
            self.next, self._turn, self.done = len(self.waves), self._turn + 1, set()
            self._signal(running, [], signum, cause)
            return
        self.signum, self.cause = signum, cause
        self.waves = [wave for wave in self.order(running) if wave]
        if not self.waves:  # no stage left: only what they left behind, as a subreaper
            self._signal([], [], signum, cause)
        self._advance()

    def _advance(self) -> None:
        while self.next < len(self.waves):
            wave = self.waves[self.next]
            self.next += 1
            live = self.running(wave)
            if live:
                others = [stage for stage in self.running(self.pipeline.stages) if stage not in live]
                self._signal(live, others, self.signum, self.cause)
                if self.grace > 0:
                    self._schedule(self.grace)
                    return
                continue
            if self.next < len(self.waves) and self.grace > 0:
                # This wave ended before its turn: the next one's grace began then.
                ended = max(stage.ended or time.monotonic() for stage in wave)
                due = ended + self.grace - time.monotonic()
                if due > 0:
                    self._schedule(due)
                    return

    def _schedule(self, delay: float) -> None:
        self._turn += 1
        turn = self._turn
        self.sup.after(delay, lambda: self._advance() if turn == self._turn else None)

    def ended(self, stage: StageResult) -> None:
        """A stage was reaped: if it ended the wave whose grace is running,
        the next wave's grace starts now."""
        if 0 < self.next < len(self.waves):
            wave = self.waves[self.next - 1]
            if any(stage is member for member in wave) and not self.running(wave):
                self._schedule(self.grace)

    def _signal(self, stages: list[StageResult], others: list[StageResult], signum: int, cause: str) -> None:
        # Downstream first within a wave: "at once" means no stage of it sees
        # end-of-file, from a stage upstream that the signal has just ended,
        # before the signal has reached it too.
        from .procfs import proc_info

        # A stage that has already exited (a zombie not yet reaped: with a
        # grace of 0, its turn can come before the loop reaps it) was not
        # stopped by this signal: the report must not say it was.
        stages = [stage for stage in stages if stage.pid is None or not _exited(proc_info(stage.pid))]
        sup, pids = self.sup, [stage.pid for stage in reversed(stages) if stage.pid is not None]
        why = "deadline" if cause == "deadline" else "passing on"
        if not pids and not self.pipeline.subreaper:
            return
        if self.pipeline.subreaper:
            spare = [stage.pid for stage in others if stage.pid is not None]
            signalled = sup.signal_tree([os.getpid()], signum, why=why, include_roots=False, first=pids,
                                        spare=spare, skip=self.done)
        else:
            signalled = sup.signal_tree(pids, signum, why=why, first=pids, skip=self.done)
        self.done.update(signalled)
        for stage in stages:
            stage.signals_sent.append(signum)
            stage.stopped_by = stage.stopped_by or cause

    def forward(self, signum: int, skip_group: int | None) -> None:
        """A received INT/TERM/HUP/QUIT. In the order's waves unless the order
        is all_at_once, or it is QUIT (a request for a core dump now), or it
        came from the terminal (skip_group: every stage in our process group
        has it already); otherwise as before: to every stage at once (not to
        their trees: what they leave behind gets it once they have ended)."""
        if self.order is all_at_once or signum == signal.SIGQUIT or skip_group is not None:
            running = self.running(self.pipeline.stages)
            sent = self.sup.send([self.sup.children[stage.pid] for stage in reversed(running) if stage.pid is not None],
                                 signum, skip_group=skip_group, why="passing on")  # downstream first: see _signal
            for child in sent:
                child.tag.signals_sent.append(signum)
            for stage in running:
                stage.stopped_by = stage.stopped_by or "signal"
            if skip_group is not None:
                # A Ctrl-C reached every stage from the terminal; one that died
                # of it and was reaped before we took the signal was stopped by it too.
                for stage in self.pipeline.stages:
                    if stage.exit is not None and stage.exit.signal == signum:
                        stage.stopped_by = stage.stopped_by or "signal"
            return
        self.start(signum, "signal")


def _exited(info: "ProcInfo | None") -> bool:
    """Gone, or a zombie: /proc/PID/stat says so (an unreaped child's pid
    cannot have been reused)."""
    return info is None or info.state in ("Z", "X")


class _PipelinePolicy(Policy):
    """What pipe-run decides; the loop itself is supervise.Supervisor's."""

    record_argv = True  # the report gives each adopted process's argv
    sample_io = True  # and each stage's bytes read and written

    def __init__(self, pipeline: "Pipeline", result: PipelineResult, stopper: _Stopper, *, wait_all: bool,
                 leftovers_kill_after: float | None):
        self.pipeline, self.result, self.stopper = pipeline, result, stopper
        self.ending = pipeline._started().forwarded
        self.wait_all, self.leftovers_kill_after = wait_all, leftovers_kill_after

    def forward(self, sup: Supervisor, signum: int, skip_group: int | None) -> None:
        self.stopper.forward(signum, skip_group)

    def reaped(self, child: Child) -> None:
        stage: StageResult = child.tag
        stage.ended = child.ended
        assert child.wait_status is not None  # reaped
        stage.exit = ExitStatus.from_wait_status(child.wait_status)
        stage.usage, stage.io = child.usage, child.io
        self.pipeline._judge_sigpipe(stage)
        if self.pipeline.trace:
            forgiven = "  (SIGPIPE forgiven: no process held the read end of its pipe)"
            self.pipeline.trace(f"waitpid({child.pid}) = {stage.exit.describe()}"
                                f"{forgiven if stage.sigpipe_forgiven else ''}")
        self.pipeline._drop_witness(stage)  # its reader gets end-of-file now
        self.stopper.ended(stage)

    def adopted(self, orphan: Adopted) -> None:
        name = orphan.info.name if orphan.info else "?"
        exit_status = ExitStatus.from_wait_status(orphan.wait_status)
        self.result.adopted.append(AdoptedProcess(orphan.pid, orphan.argv or [name], exit_status))
        if self.pipeline.trace:
            self.pipeline.trace(f"waitpid({orphan.pid}) = {exit_status.describe()}  (adopted: {name})")


class Pipeline:
    """Start with ``start()``, collect with ``wait()``; use as a context manager
    so that an exception anywhere still kills and reaps every stage.

    forward_signals: pass INT/TERM/HUP/QUIT sent to us on to the stages; None
    (the default) does so when we are the only thread, True insists (and
    start() raises SupervisionError beside other threads). subreaper: become a
    child subreaper, so that what stages leave behind is adopted, reaped and
    reported, and deadlines and passed-on signals reach it too (pipe-run does;
    it changes the calling process for good). parent_death_signal: given to
    each stage with PR_SET_PDEATHSIG (None: none). stderr: an fd for each
    stage's stderr (None: ours); merge_stderr takes precedence. A stage given
    as a string is split as sh would (pyipc.cmdline.parse_command): its
    leading NAME=value words are added to env for that stage only, and an
    unquoted operator (ls | wc) raises ShellOperatorError, whose ``stage``
    says which one.

    sigpipe_ok: tell a stage's death by SIGPIPE that its reader caused (the
    stage it writes to had exited or closed its stdin: ``yes | head -1``)
    from any other (StageResult.sigpipe_forgiven; such a stage counts as 0 in
    PipelineResult.status). For that we keep the write end of each pipe
    between stages until the stage writing to it is reaped: its reader does
    not see end-of-file before then, so wait() must be running (it is what
    reaps), and when the writer is reaped, the pipe's readers are exactly
    those that were there when it died (poll reports POLLERR on a write end
    that has no reader)."""

    def __init__(
        self,
        stages: Iterable[Stage],
        *,
        stdin: int | None = None,
        stdout: int | None = None,
        merge_stderr: bool = False,
        cycle: bool = False,
        shell: bool = False,
        env: Mapping[str, str] | None = None,
        forward_signals: bool | None = None,
        subreaper: bool = False,
        parent_death_signal: int | None = None,
        trace: Tracer | None = None,
        stderr: Sequence[int | None] | None = None,
        sigpipe_ok: bool = False,
    ):
        self.argvs: list[list[str]] = []
        self.stage_env: list[dict[str, str]] = []  # each stage's NAME=value words, added to env
        for index, stage in enumerate(stages):
            try:
                assignments, argv = _command(stage, shell)
            except ShellOperatorError as exc:
                exc.stage = index  # which stage: the caller words the message
                raise
            except UsageError as exc:  # empty, unbalanced quotes, assignments only
                raise UsageError(f"stage {index + 1}: {exc}") from None
            self.argvs.append(argv)
            self.stage_env.append(assignments)
        self.stage_stderr = list(stderr) if stderr is not None else [None] * len(self.argvs)
        if not self.argvs:
            raise ValueError("a pipeline needs at least one stage")
        if cycle and (stdin is not None or stdout is not None):
            raise ValueError("a cycle cannot also read stdin from or write stdout to a file")
        self.stdin, self.stdout = stdin, stdout
        self.merge_stderr, self.cycle, self.env = merge_stderr, cycle, env
        self.trace = trace
        self.forward_signals, self.subreaper = forward_signals, subreaper
        self.parent_death_signal = parent_death_signal
        self.sigpipe_ok = sigpipe_ok
        self.stages: list[StageResult] = []
        self.spawn_errors: list[SpawnError] = []
        self.supervisor: Supervisor | None = None
        self._witnesses: dict[StageResult, int] = {}  # sigpipe_ok: a stage -> the write end of its stdout's pipe

    # -- starting -------------------------------------------------------------

    def start(self) -> list[SpawnError]:
        """Fork every stage; returns the stages that could not start (already
        reaped, status 126/127), while the others run, as in bash."""
        forward = self.forward_signals
        if forward is None:
            threading = sys.modules.get("threading")
            forward = threading is None or threading.active_count() == 1
        self.supervisor = Supervisor(forwarded=FORWARDED if forward else (), subreaper=self.subreaper,
                                     trace=self.trace)
        self.supervisor.begin()
        last = len(self.argvs) - 1
        cycle_read: int | None = None
        cycle_write: int | None = None
        if self.cycle:
            cycle_read, cycle_write = self._pipe()
        stage_stdin = cycle_read if self.cycle else self.stdin
        owned_stdin = self.cycle
        try:
            for index, argv in enumerate(self.argvs):
                next_read: int | None = None
                write_end: int | None = None
                stage_stdout: int | None
                if index < last:
                    next_read, write_end = self._pipe()
                    stage_stdout = write_end
                else:
                    stage_stdout = cycle_write if self.cycle else self.stdout
                stage_stderr = stage_stdout if (self.merge_stderr and index < last) else self.stage_stderr[index]
                self._start_stage(argv, stage_stdin, stage_stdout, stage_stderr)
                # The parent keeps no pipe end a stage owns: otherwise readers never see EOF
                # (but a witness, kept until the writer is reaped: see sigpipe_ok).
                if owned_stdin and stage_stdin is not None:
                    self._close(stage_stdin)
                ours = write_end if write_end is not None else cycle_write if index == last else None
                if ours is not None:
                    if self.sigpipe_ok and self.stages[-1].error is None:
                        self._witnesses[self.stages[-1]] = ours
                        if self.trace:
                            self.trace(f"keeping {ours} until stage {index + 1} is reaped"
                                       "  (to see whether its reader had gone: sigpipe_ok)")
                    else:
                        self._close(ours)
                    if ours == cycle_write:
                        cycle_write = None
                stage_stdin, owned_stdin = next_read, next_read is not None
        except BaseException:
            if owned_stdin and stage_stdin is not None:
                os.close(stage_stdin)
            if cycle_write is not None:
                os.close(cycle_write)
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

    def _judge_sigpipe(self, stage: StageResult) -> None:
        """A stage was reaped: if it died of SIGPIPE (or exited 141, as sh
        does when its command did: --shell "a; yes") and no process holds the
        read end of the pipe it writes to, its reader caused it."""
        fd = self._witnesses.get(stage)
        if fd is None or stage.exit is None or stage.exit.shell_status != 128 + signal.SIGPIPE:
            return
        poller = select.poll()
        poller.register(fd, 0)  # POLLERR is always reported: on a pipe's write end, "no reader left"
        stage.sigpipe_forgiven = any(events & select.POLLERR for _, events in poller.poll(0))

    def _drop_witness(self, stage: StageResult) -> None:
        fd = self._witnesses.pop(stage, None)
        if fd is not None:
            self._close(fd)

    def _started(self) -> Supervisor:
        """The supervisor of a started pipeline."""
        if self.supervisor is None:
            raise RuntimeError("the pipeline has not been started: call start() first")
        return self.supervisor

    def _start_stage(self, argv: list[str], stage_stdin: int | None, stage_stdout: int | None,
                     stage_stderr: int | None) -> None:
        result = StageResult(argv=argv, started=time.monotonic())
        self.stages.append(result)
        env, assignments = self.env, self.stage_env[len(self.stages) - 1]
        result.env = dict(assignments)
        if assignments:  # LC_ALL=C sort: as sh, for this stage only (PATH=... also finds its program)
            env = {**(os.environ if env is None else env), **assignments}
        try:
            result.pid = spawn(
                argv, stdin=stage_stdin, stdout=stage_stdout, stderr=stage_stderr, env=env, trace=self.trace,
                sigmask=self._started().child_mask, parent_death_signal=self.parent_death_signal,
            )
        except SpawnError as exc:
            result.pid, result.error, result.ended = exc.pid, exc, time.monotonic()
            if exc.wait_status is not None:
                result.exit = ExitStatus.from_wait_status(exc.wait_status)
            self.spawn_errors.append(exc)
            if self.trace:
                self.trace(f"exec failed in {exc.pid}: {exc.strerror} ({exc.filename}); reaped")
            return
        self._started().add(result.pid, tag=result, started=result.started)

    # -- waiting --------------------------------------------------------------

    def wait(
        self,
        *,
        timeout: float | None = None,
        timeout_signal: int = signal.SIGTERM,
        kill_after: float | None = None,
        pipefail: bool = False,
        wait_all: bool = False,
        leftovers_kill_after: float | None = None,
        order: Callable[[list[StageResult]], list[list[StageResult]]] = all_at_once,
        stage_grace: float = STAGE_GRACE,
    ) -> PipelineResult:
        """Wait for every stage. At ``timeout`` seconds (from now) the stages
        still running get ``timeout_signal``, each with its whole tree, in the
        waves ``order`` gives (as a subreaper, the first wave also reaches
        whatever else is below us), and SIGKILL ``kill_after`` seconds after
        the deadline, whichever wave it is in. INT/TERM/HUP/QUIT sent to us
        are passed on to every stage (one typed at the terminal already
        reached them all) and reported in ``received_signal``; the caller
        decides whether to die of it. With an order other than all_at_once
        (upstream_first), INT, TERM and HUP not typed at the terminal go in
        its waves too, each stage with its whole tree.

        Waves: a wave gets the signal ``stage_grace`` seconds after the wave
        before it has ended (its readers have had end-of-file that long), or
        ``stage_grace`` seconds after that wave got the signal if it is still
        running then; a wave whose stages all ended before its turn is passed
        over. A second deadline or signal during a stop goes to every stage at
        once. As a subreaper, once the stages have ended after such a signal
        or a deadline, what they left behind gets the same signal and KILL a
        second later; ``wait_all`` waits for everything below us;
        ``leftovers_kill_after`` KILLs what the stages left behind that long
        after they ended on their own."""
        sup = self._started()
        result = PipelineResult(stages=self.stages, pipefail=pipefail, spawn_errors=self.spawn_errors,
                                sigpipe_ok=self.sigpipe_ok)
        stopper = _Stopper(self, order, stage_grace)
        policy = _PipelinePolicy(self, result, stopper, wait_all=wait_all, leftovers_kill_after=leftovers_kill_after)

        def kill_after_deadline() -> None:
            if sup.children or (self.subreaper and sup.everything_below()):
                result.killed = bool(sup.children)
                for child in sup.running():
                    child.tag.signals_sent.append(signal.SIGKILL)
                    child.tag.stopped_by = child.tag.stopped_by or "deadline"
                sup.kill_everything("kill-after")

        def deadline() -> None:
            result.timed_out = True
            sup.stopping = sup.stopping or timeout_signal
            stopper.start(timeout_signal, "deadline")
            if kill_after is not None:
                sup.after(kill_after, kill_after_deadline)

        try:
            if timeout:
                sup.after(timeout, deadline)
            sup.run(policy)
            result.received_signal = sup.received_signal
            if self.subreaper:
                result.left_running = [(pid, argv or [name]) for pid, argv, name in sup.left_running()]
        finally:
            self.close()
        return result

    def kill(self, signum: int, why: str = "") -> None:
        """Send signum (then CONT) to every stage not yet reaped."""
        if self.supervisor is not None:
            self.supervisor.send(self.supervisor.running(), signum, why=why)

    def close(self) -> None:
        """Kill and reap whatever still runs (an exception), then restore the
        signal mask and SIGCHLD disposition changed by start()."""
        try:
            if self.supervisor is not None:
                self.supervisor.end()
        finally:
            for stage in list(self._witnesses):
                self._drop_witness(stage)

    def __enter__(self) -> "Pipeline":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class PipelineError(PyipcError):
    """run_pipeline(check=True) and the pipeline's status was not 0 (as
    subprocess.CalledProcessError): ``result`` is the whole PipelineResult,
    statuses and captured output included."""

    def __init__(self, result: PipelineResult):
        super().__init__(result.status, result.statuses)
        self.result = result

    @property
    def status(self) -> int:
        return self.result.status


class _Exchange:
    """run_pipeline's input and captured output: pipes whose far ends the
    stages get (stdin, stdout, stderr), and whose near ends the supervision
    loop writes and reads as they become ready, non-blocking, so that a
    pipeline that reads and writes megabytes never waits for us, nor we for it."""

    def __init__(self, data: bytes | None, capture: bool, stages: int, merge_stderr: bool):
        self.stdin: int | None = None     # the first stage's stdin
        self.stdout: int | None = None    # the last stage's stdout
        self.stderr: list[int | None] = [None] * stages
        self._theirs: list[int] = []      # closed here once the stages have them
        self._input_fd = -1
        self._input = memoryview(data if data is not None else b"")
        self._stdout_fd = -1
        self._stderr_fds: list[int] = [-1] * stages
        self._chunks: dict[int, list[bytes]] = {}
        try:
            if data is not None:
                self.stdin, self._input_fd = self._pipe(theirs_first=True)
            if capture:
                self._stdout_fd, self.stdout = self._pipe(theirs_first=False)
                for index in range(stages):
                    if not (merge_stderr and index < stages - 1):
                        self._stderr_fds[index], self.stderr[index] = self._pipe(theirs_first=False)
        except BaseException:
            self.close()
            raise

    def _pipe(self, *, theirs_first: bool) -> tuple[int, int]:
        read_end, write_end = make_pipe()
        theirs = read_end if theirs_first else write_end
        self._theirs.append(theirs)
        if not theirs_first:
            self._chunks[read_end] = []
        return read_end, write_end

    def started(self, sup: Supervisor) -> None:
        """The stages hold their ends now: close ours of those (or no stage
        would ever see EOF) and let the loop move the data."""
        for fd in self._theirs:
            os.close(fd)
        self._theirs = []
        if self._input_fd >= 0:
            os.set_blocking(self._input_fd, False)
            if self._input:
                sup.watch(self._input_fd, self._write, write=True)
            else:
                self._close_input()
        for fd in self._chunks:
            os.set_blocking(fd, False)
            sup.watch(fd, self._reader(fd))

    def _write(self) -> bool:
        try:
            written = os.write(self._input_fd, self._input[:1 << 16])
        except BlockingIOError:
            return True
        except BrokenPipeError:  # the first stage ended without reading it all, as with a shell's pipe
            self._close_input()
            return False
        self._input = self._input[written:]
        if not self._input:
            self._close_input()  # EOF for the first stage
            return False
        return True

    def _close_input(self) -> None:
        if self._input_fd >= 0:
            os.close(self._input_fd)
            self._input_fd = -1

    def _reader(self, fd: int) -> Callable[[], bool]:
        return lambda: self._read(fd)

    def _read(self, fd: int) -> bool:
        try:
            data = os.read(fd, 1 << 16)
        except BlockingIOError:
            return True
        self._chunks[fd].append(data)
        return bool(data)

    def finish(self, result: PipelineResult) -> None:
        """After the stages have ended: take what is still in the pipes (not
        waiting for processes they left behind that may hold them open)."""
        self._close_input()
        for fd, chunks in self._chunks.items():
            while not chunks or chunks[-1]:
                try:
                    data = os.read(fd, 1 << 16)
                except BlockingIOError:
                    break
                chunks.append(data)
        if self._stdout_fd >= 0:
            result.stdout = b"".join(self._chunks[self._stdout_fd])
        for stage, fd in zip(result.stages, self._stderr_fds):
            if fd >= 0:
                stage.stderr = b"".join(self._chunks[fd])

    def close(self) -> None:
        self._close_input()
        for fd in [*self._theirs, *self._chunks]:
            os.close(fd)
        self._theirs, self._chunks = [], {}


def run_pipeline(
    *stages: Stage,
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
    forward_signals: bool | None = None,
    trace: Tracer | None = None,
    input: bytes | None = None,
    capture_output: bool = False,
    check: bool = False,
    order: Callable[[list[StageResult]], list[list[StageResult]]] = all_at_once,
    stage_grace: float = STAGE_GRACE,
    sigpipe_ok: bool = False,
) -> PipelineResult:
    """Run stages as ``stage1 | stage2 | ...`` and return every stage's status.

    Example: ``run_pipeline("yes", "head -1").statuses == [141, 0]``; the
    status is 0, or 141 with ``pipefail=True``.

    As subprocess.run has them: ``input`` (bytes) is fed to the first stage
    (instead of stdin); ``capture_output`` collects the last stage's stdout
    in ``result.stdout`` and each stage's stderr in ``result.stages[i].stderr``
    (instead of stdout and our stderr; with merge_stderr, the stages but the
    last send stderr down the pipe). Both move in the supervision loop with
    the reaping and the deadline, so no size deadlocks and the deadline holds.
    ``check``: raise PipelineError, which carries the result, when the status
    (with pipefail: the rightmost failure) is not 0.

    ``order`` and ``stage_grace``: in which waves the deadline's signal (and
    a received one passed on) reaches the stages (Pipeline.wait);
    ``order=upstream_first`` lets each downstream stage finish on end-of-file
    first, as ``timeout N a | b`` does. ``sigpipe_ok``: a stage killed by
    SIGPIPE after its reader had gone counts as 0 (Pipeline): with
    ``pipefail=True``, ``run_pipeline("yes", "head -1")`` is then 0.
    """
    if input is not None and stdin is not None:
        raise ValueError("stdin and input arguments may not both be used")
    if capture_output and stdout is not None:
        raise ValueError("stdout and capture_output arguments may not both be used")
    exchange = _Exchange(input, capture_output, len(stages), merge_stderr) if input is not None or capture_output else None
    stage_stderr = None
    if exchange is not None:
        stdin = exchange.stdin if input is not None else stdin
        if capture_output:
            stdout, stage_stderr = exchange.stdout, exchange.stderr
    try:
        with Pipeline(
            stages, stdin=stdin, stdout=stdout, stderr=stage_stderr, merge_stderr=merge_stderr, cycle=cycle,
            shell=shell, env=env, forward_signals=forward_signals, trace=trace, sigpipe_ok=sigpipe_ok,
        ) as pipeline:
            pipeline.start()
            if exchange is not None:
                exchange.started(pipeline._started())
            result = pipeline.wait(timeout=timeout, timeout_signal=timeout_signal, kill_after=kill_after,
                                   pipefail=pipefail, order=order, stage_grace=stage_grace)
        if exchange is not None:
            exchange.finish(result)
    finally:
        if exchange is not None:
            exchange.close()
    if check and result.status:
        raise PipelineError(result)
    return result
