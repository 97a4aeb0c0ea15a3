"""pipe-run: run ``stage1 | stage2 | ...`` with pipe/fork/dup2/exec, no shell."""

from __future__ import annotations

import os
import stat

TYPE_CHECKING = False  # typing costs start-up; the annotations are strings only Typer reads (App.build)
if TYPE_CHECKING:
    from typing import List, Literal, Optional

    from ..pipeline import PipelineResult

from . import _declare as typer  # typer.Option/Argument recorded; the real typer loads only when needed

from .._signals import signal  # no enum import: see _signals
from ..errors import EXIT_FAILURE, EXIT_TIMEOUT, UsageError
from ._cli import Die, die_of_signal, make_app, oserror_text, parse_or_usage, run, version_option, warn
from ._values import VALUES_TEXT

PROG = "pipe-run"
USAGE = "[OPTIONS] STAGE [STAGE...]"

MANUAL = {
    "summary": "run a pipeline of commands with pipe, fork, dup2 and exec, no shell in between",
    "description": """
pipe-run runs each STAGE as one process and joins them with pipes, as the shell
does for STAGE1 | STAGE2 | ...: stage N's stdout is stage N+1's stdin. Each
STAGE is one command line, split into words like sh does (single and double
quotes, backslashes), with no expansion of variables, globs or ~. With --shell,
each STAGE is given to /bin/sh -c instead.

Every stage starts as a shell would start it: SIGPIPE and SIGXFSZ back to their
default action (so yes | head -1 ends at once), signals that were ignored when
pipe-run started still ignored, the signal mask pipe-run inherited (not an
empty one), and only file descriptors 0, 1 and 2 open. A stage that cannot be started (not found: 127;
found but not executable: 126) is reported on stderr while the other stages
still run, as in bash.

The exit status is the last stage's, as in POSIX sh; with --pipefail it is the
rightmost failing stage's. A stage killed by signal N counts as 128+N.

The stages stay in pipe-run's process group, so Ctrl-C at a terminal reaches
them all. SIGTERM, SIGHUP and SIGQUIT sent to pipe-run, and a SIGINT or
SIGQUIT sent by another process, are passed on to every stage (each followed
by CONT, as the deadline's signal is); one that was ignored when pipe-run
started (nohup, a background job) stays ignored. pipe-run then waits for every
stage and exits as bash does (cooperative exit): it dies of the signal itself
only if a stage died of it, so that a calling shell loop stops too; a stage
that handled the signal and exited gives the pipeline's status as usual.

pipe-run is a child subreaper (prctl PR_SET_CHILD_SUBREAPER): what a stage
leaves behind (a background job of a --shell stage, a daemon that forked and
called setsid) is re-parented to pipe-run instead of to init, reaped, and
listed in the --report as adopted. At the --timeout deadline, and at
--kill-after, the signal reaches every process below pipe-run at once, setsid
escapees included: the tree is first frozen with SIGSTOP until a scan of /proc
finds nothing new (so a tree that keeps forking cannot outrun it), then gets
the signal and CONT. After a passed-on signal or a deadline, once the stages
have ended, whatever they left behind gets the same signal and KILL one second
later: nothing is left running when pipe-run exits. When the stages end on
their own, what they left behind is left running, as a shell leaves it (the
report lists it); --wait-all waits for it, --kill-leftovers DURATION KILLs
what still runs DURATION after the last stage ended.

Each stage gets PR_SET_PDEATHSIG with the --signal signal (TERM by default),
so that a SIGKILL of pipe-run does not leave the stages running;
--no-pdeathsig turns that off.

--trace prints every pipe(), fork(), dup2(), close(), execve(), kill() and
waitpid() as it happens, with pids and fd numbers: a way to watch a pipeline
being built.
""",
    "exit_status": [
        ("0", "The last stage (with --pipefail: every stage) succeeded."),
        ("1", "pipe-run could not run: an --input file cannot be read, an --output file cannot be opened. No stage was started. Or the --report could not be written, when the status would otherwise have been 0."),
        ("2", "Usage error: no stage, an empty stage, unbalanced quotes, a bad duration or signal, an unknown option."),
        ("124", "The --timeout deadline was reached."),
        ("126", "The last stage (or, with --pipefail, the failing one) was found but could not be executed."),
        ("127", "That stage's command was not found."),
        ("128+N", "That stage was killed by signal N (141 is SIGPIPE). When pipe-run itself gets SIGINT, SIGTERM, SIGHUP or SIGQUIT, it waits for every stage, then dies of that signal if a stage died of it; otherwise it exits with the pipeline's status (bash's cooperative exit)."),
        ("other", "The status of the last stage, or with --pipefail of the rightmost failing stage."),
    ],
    "examples": [
        ('pipe-run "ls" "wc -l"', "Count the entries of the current directory, like ls | wc -l."),
        ('pipe-run --pipefail "yes" "head -1"', "Prints y and exits 141: yes was killed by SIGPIPE, which bash's set -o pipefail also reports."),
        ('pipe-run -i access.log -o top.txt "cut -d\\  -f1" "sort" "uniq -c" "sort -rn"', "Redirections without a shell: read access.log, write top.txt."),
        ('pipe-run --timeout 5 -k 1 --report json "tail -f log" "grep ERROR"', "Stop the whole pipeline after 5 seconds (KILL one second later if needed), then print a JSON report of every stage."),
        ('pipe-run --trace "echo hi" "tr a-z A-Z"', "Watch the pipe, forks, dup2s and execs happen."),
        ('pipe-run --cycle "python3 server.py" "python3 client.py"', "Two processes talking to each other: each one's stdout is the other's stdin."),
    ],
    "notes": """
SIGPIPE and SIGXFSZ are always set back to their default action in the stages:
the Python interpreter ignores both before any of pipe-run's code runs, so
pipe-run cannot tell whether they were already ignored when it was started.
Every other signal that was ignored when pipe-run started (SIGHUP under nohup,
SIGINT in a background job) stays ignored in the stages, as with a shell.

The stages are pipe-run's direct children. Once pipe-run is gone (killed by
SIGKILL, which nothing can catch), PR_SET_PDEATHSIG still reaches the stages,
but not what they started: those processes go to init (or to the nearest
other subreaper) and keep running. The parent-death signal is tied to the
thread that forked, which for the command is pipe-run's only thread.

Freezing a tree uses SIGSTOP: a process that watches its children's stops (a
job-control shell) sees them stopped and continued before it gets the signal.
Each round of the freeze scans /proc. A process group other than pipe-run's
that lies entirely inside the tree (a setsid escapee and what it forks) is
stopped and signalled with killpg, which the kernel makes atomic against a
fork in progress; but the stages share pipe-run's own group, so a stage whose
processes fork and exit faster than /proc can be scanned may outrun the freeze
(give it a group of its own, or run it under alarm-wait, whose COMMAND has
one). A cgroup freezer would close that gap, but moving every stage into a
cgroup of its own costs up to 20 ms per start.

The output files (--output or --append, and --report-file) are opened only
after every other check has passed, all together: if one cannot be opened,
none is created or truncated (a bad --report-file leaves --output's file as
it was). --output's file is truncated only then, and never when it is also
the --input file.
""" + VALUES_TEXT,
    "see_also": ["bash(1)", "sh(1)", "pipe(2)", "fork(2)", "dup2(2)", "execve(2)", "waitpid(2)", "timeout(1)"],
    "complete_args": ["command"],
}

app = make_app("Run STAGEs as a pipeline, stage1 | stage2 | ..., with no shell in between.")


@app.command()
def pipe_run(
    stages: List[str] = typer.Argument(..., metavar="STAGE...", help="One command line per stage, split like sh does (quotes, backslashes), with no expansion.", show_default=False),
    shell: bool = typer.Option(False, "--shell", help="Run each stage with /bin/sh -c STAGE instead of splitting it."),
    pipefail: bool = typer.Option(False, "--pipefail", help="Exit with the rightmost failing stage's status, like bash's set -o pipefail."),
    input_file: Optional[str] = typer.Option(None, "-i", "--input", metavar="FILE", help="Read the first stage's stdin from FILE."),
    output_file: Optional[str] = typer.Option(None, "-o", "--output", metavar="FILE", help="Write the last stage's stdout to FILE, truncating it."),
    append_file: Optional[str] = typer.Option(None, "-a", "--append", metavar="FILE", help="Append the last stage's stdout to FILE."),
    merge_stderr: bool = typer.Option(False, "--merge-stderr", help="Send each stage's stderr into the pipe with its stdout (bash's |&); the last stage's stderr stays ours."),
    timeout: Optional[str] = typer.Option(None, "--timeout", metavar="DURATION", help="At DURATION (seconds, or with unit s/m/h/d) signal every stage (then CONT, so that a stopped stage ends too) and exit 124; 0 means no deadline."),
    timeout_signal: str = typer.Option("TERM", "-s", "--signal", metavar="SIGNAL", help="The signal sent at the deadline."),
    kill_after: Optional[str] = typer.Option(None, "-k", "--kill-after", metavar="DURATION", help="Send KILL this long after the deadline signal to the stages still running."),
    report: Optional[Literal["text", "json"]] = typer.Option(None, "--report", help="After the run, report every stage (argv, pid, status, signal, wall time) to stderr."),
    report_file: Optional[str] = typer.Option(None, "--report-file", metavar="FILE", help="Write the --report to FILE instead of stderr."),
    trace: bool = typer.Option(False, "--trace", help="Print each pipe/fork/dup2/exec/wait step to stderr as it happens."),
    cycle: bool = typer.Option(False, "--cycle", help="Also connect the last stage's stdout to the first stage's stdin."),
    wait_all: bool = typer.Option(False, "--wait-all", help="Also wait for every process the stages left behind (adopted by pipe-run)."),
    kill_leftovers: Optional[str] = typer.Option(None, "--kill-leftovers", metavar="DURATION", help="Once every stage has ended, KILL what they left behind that is still running DURATION later."),
    no_pdeathsig: bool = typer.Option(False, "--no-pdeathsig", help="Do not give the stages PR_SET_PDEATHSIG: if pipe-run is killed, they keep running."),
    version: bool = version_option(PROG),
) -> int:
    """Run STAGEs as a pipeline: pipe-run "ls" "wc -l" is ls | wc -l."""
    from ..durations import parse_duration
    from ..pipeline import Pipeline
    from ..spawn import Tracer

    if output_file is not None and append_file is not None:
        raise UsageError("--output and --append cannot be used together")
    if cycle and (input_file or output_file or append_file):
        raise UsageError("--cycle connects the last stage to the first: it takes no --input, --output or --append")
    if report_file is not None and report is None:
        raise UsageError("--report-file needs --report text or --report json")
    seconds = parse_or_usage(parse_duration, timeout, "--timeout") if timeout is not None else None
    grace = parse_or_usage(parse_duration, kill_after, "--kill-after") if kill_after is not None else None
    if grace is not None and not seconds:
        raise UsageError("--kill-after needs --timeout")
    leftovers_s = parse_or_usage(parse_duration, kill_leftovers, "--kill-leftovers") if kill_leftovers is not None else None
    if wait_all and leftovers_s is not None:
        raise UsageError("--wait-all and --kill-leftovers cannot be used together")
    if timeout_signal == "TERM":  # the default needs no parsing: pyipc.signames (with pyipc.integers) is not imported
        signum: int = signal.SIGTERM
    else:
        from ..signames import parse_signal

        signum = parse_or_usage(parse_signal, timeout_signal, "--signal")
    pipeline = Pipeline(stages, shell=shell, merge_stderr=merge_stderr, cycle=cycle, forward_signals=True,
                        subreaper=True, parent_death_signal=None if no_pdeathsig else signum,
                        trace=Tracer(2, f"{PROG}: ") if trace else None)

    stdin_fd = _open_input(input_file) if input_file is not None else None
    opened, report_fd = [stdin_fd], None
    try:
        stdout_fd, report_fd = _open_outputs(output_file if output_file is not None else append_file,
                                             append_file is not None, report_file, stdin_fd)
        opened.append(stdout_fd)
        pipeline.stdin, pipeline.stdout = stdin_fd, stdout_fd
        with pipeline:
            for error in pipeline.start():
                warn(PROG, f"{error.filename}: {error.reason}")
            for fd in (stdin_fd, stdout_fd):  # the stages hold their own copies now
                if fd is not None:
                    os.close(fd)
                    opened.remove(fd)
            result = pipeline.wait(timeout=seconds or None, timeout_signal=signum, kill_after=grace, pipefail=pipefail,
                                   wait_all=wait_all, leftovers_kill_after=leftovers_s)
    except BaseException:
        if report_fd is not None:
            os.close(report_fd)
        raise
    finally:
        for fd in opened:
            if fd is not None:
                os.close(fd)
    lost = _write_report(result, report, report_fd) if report is not None else None
    if report_fd is not None:
        os.close(report_fd)
    # cooperative exit, as bash and tini (received_signal is then set)
    if result.died_of_received_signal and result.received_signal is not None:
        die_of_signal(result.received_signal)
    status = EXIT_TIMEOUT if result.timed_out else result.status
    if lost is not None:  # as reap-watch: the run's own status, or 1 if that was 0
        where = f" to '{report_file}'" if report_file is not None else ""
        raise Die(f"cannot write the report{where}: {lost.strerror}", status or EXIT_FAILURE)
    return status


def _open_input(path: str) -> int:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as exc:
        raise Die(f"cannot open '{path}': {exc.strerror}", EXIT_FAILURE) from None
    if stat.S_ISDIR(os.fstat(fd).st_mode):
        os.close(fd)
        raise Die(f"cannot read '{path}': Is a directory", EXIT_FAILURE)
    return fd


def _open_outputs(stdout_path: str | None, append: bool, report_path: str | None,
                  stdin_fd: int | None) -> tuple[int | None, int | None]:
    """-o/-a and --report-file, opened together once every other check has
    passed: a bad --report-file leaves -o's file as it was (pyipc.outputs)."""
    if stdout_path is None and report_path is None:
        return None, None  # nothing to open: pyipc.outputs is not imported
    from ..outputs import Output, SameAsInput, open_outputs

    inputs = (stdin_fd,) if stdin_fd is not None else ()
    wanted = [Output(p, append=a, not_same_as=inputs) for p, a in ((stdout_path, append), (report_path, False)) if p]
    try:
        fds = iter(open_outputs(wanted))
    except SameAsInput as exc:
        raise Die(f"'{exc.path}' is both the input and the output file; refusing to clobber it", EXIT_FAILURE) from None
    except OSError as exc:
        raise Die(f"cannot open {oserror_text(exc)}", EXIT_FAILURE) from None
    return (next(fds) if stdout_path else None), (next(fds) if report_path else None)


def _write_report(result: PipelineResult, report_format: Literal["text", "json"], report_fd: Optional[int]) -> Optional[OSError]:
    """Write the report; return the error that lost it, if any."""
    if report_format == "json":
        import json

        text = json.dumps(result.as_dict()) + "\n"
    else:
        lines = []
        for number, stage in enumerate(result.stages, 1):
            how = stage.exit.describe() if stage.exit else "not started"
            if stage.error is not None:
                how = f"{stage.error.reason}"
            lines.append(f"{PROG}: stage {number}: pid {stage.pid} status {stage.status} ({how}) "
                         f"{stage.wall_s:.3f}s: {' '.join(stage.argv)}")
        for adopted in result.adopted:
            lines.append(f"{PROG}: adopted: pid {adopted.pid} status {adopted.exit.shell_status} "
                         f"({adopted.exit.describe()}): {' '.join(adopted.argv)}")
        for pid, argv in result.left_running:
            lines.append(f"{PROG}: left running: pid {pid}: {' '.join(argv)}")
        extra = " (deadline: exit 124)" if result.timed_out else ""
        lines.append(f"{PROG}: pipeline status {result.status}{' (pipefail)' if result.pipefail else ''}{extra}")
        text = "\n".join(lines) + "\n"
    data = text.encode("utf-8", "surrogateescape")
    fd = 2 if report_fd is None else report_fd
    try:
        while data:
            data = data[os.write(fd, data):]
    except OSError as exc:
        return exc
    return None


def main() -> None:
    run(app, PROG, usage=USAGE)
