"""pipe-run: run ``stage1 | stage2 | ...`` with pipe/fork/dup2/exec, no shell."""

from __future__ import annotations

import os
import stat
import sys

TYPE_CHECKING = False  # typing costs start-up; the annotations are strings only Typer reads (App.build)
if TYPE_CHECKING:
    from typing import List, Literal, Optional

    from ..pipeline import Pipeline, PipelineResult, StageResult

from . import _declare as typer  # typer.Option/Argument recorded; the real typer loads only when needed

from .._signals import signal  # no enum import: see _signals
from ..errors import EXIT_FAILURE, ShellOperatorError, UsageError
from ._cli import Die, as_typed, die_of_signal, make_app, oserror_text, parse_or_usage, run, version_option, warn
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

As in sh, leading NAME=value words set that stage's environment (pipe-run
"LC_ALL=C sort" runs sort with LC_ALL=C; PATH=... also changes where its
program is looked for); a NAME=value word after the command is an argument. A
stage of assignments only is a usage error. What sh would take as an operator
is a usage error too, which says what to use instead: an unquoted |, &, ;, <,
>, ( or ), even glued to a word (ls|wc, echo hi>out, a&&b, 2>&1), or the $( or
` of a command substitution. Give each stage as its own argument instead of |; use
-i, -o or -a instead of < and >, --merge-stderr instead of 2>&1, and --shell
for the rest. Quoted or backslash-escaped ("echo '|'", echo \\>), it is an
ordinary character. An option that pipe-run does not know, after a stage
(pipe-run ls -la "wc -l"), is a usage error that says that a stage's options
go inside its quotes ("ls -la"); so is a -k without --timeout (pipe-run sort
-k 2 "head -1"), and an -i after a stage whose file cannot be opened (pipe-run
grep -i error "wc -l") says so too. An option that pipe-run knows is
pipe-run's wherever it stands: pipe-run sort -o out "head -1" writes head's
output to out.

Every stage starts as a shell would start it: SIGPIPE and SIGXFSZ back to their
default action (so yes | head -1 ends at once), signals that were ignored when
pipe-run started still ignored, the signal mask pipe-run inherited (not an
empty one), and only file descriptors 0, 1 and 2 open. A stage that cannot be started (not found: 127;
found but not executable: 126) is reported on stderr while the other stages
still run, as in bash.

The exit status is the last stage's, as in POSIX sh; with --pipefail it is the
rightmost failing stage's. A stage killed by signal N counts as 128+N.

--pipefail-sigpipe-ok is --pipefail made honest about SIGPIPE: a stage killed
by SIGPIPE (or that exited 141, as sh does when the command it ran was: a
--shell stage "true; yes") counts as 0 when, and only when, the stage it
writes to had already exited or closed its stdin when it died. Its SIGPIPE was
then the reader's decision: yes | head -1 exits 0, where bash's set -o pipefail says 141. A
SIGPIPE from any other pipe or socket, while the stage's reader still holds
its pipe, still fails, and so does the last stage's (its reader is not
pipe-run's to see). pipe-run tells from the pipe itself: in this mode it keeps
the write end of each pipe between stages until the stage writing to it is
reaped, so that the reader cannot see end-of-file (and exit) first, and then
asks the kernel whether any process still holds the read end (poll(2)
reports POLLERR on a write end that has no reader left).

At the --timeout deadline the signal (--signal, TERM by default) goes first to
the stage that feeds the others: stage 1, with its whole tree of processes and
with whatever the stages left behind. Each downstream stage then gets
end-of-file on its stdin and time to finish and write out what it buffered:
it gets the signal only if it is still running --stage-grace DURATION (1
second by default) after the stage feeding it ended, or after that stage got
the signal and did not end (a stage that ignores the signal holds the next
one up for one grace period, not for ever); a stage that ended before its turn
starts the next one's grace when it ended. This is what timeout 2 tail -f log
| grep ERROR > out does, where grep, writing to a file, writes out its matches
only when it exits: grep keeps its lines. --kill-after DURATION KILLs
everything still running DURATION after the deadline, whichever turn it was
waiting for. --all-at-once signals every stage at once instead, as coreutils
timeout signals its one command; with --cycle no stage is upstream of
another, and every stage gets the signal at once.

The stages stay in pipe-run's process group, so Ctrl-C at a terminal reaches
them all at once. SIGTERM, SIGHUP and SIGINT sent to pipe-run by another
process are passed on in the deadline's order (upstream first, each stage
with its whole tree, followed by CONT), and a second one while the stages are
being stopped goes to every stage's tree at once. SIGQUIT, and with
--all-at-once every signal passed on, goes to every stage at once: to the
stages themselves (followed by CONT), and to what they started once they have
ended. A signal that was ignored when pipe-run started (nohup, a background
job) stays ignored.
pipe-run then waits for every stage and exits as bash does (cooperative
exit): it dies of the signal itself only if a stage died of it, so that a
calling shell loop stops too; a stage that handled the signal and exited
gives the pipeline's status as usual.

pipe-run is a child subreaper (prctl PR_SET_CHILD_SUBREAPER): what a stage
leaves behind (a background job of a --shell stage, a daemon that forked and
called setsid) is re-parented to pipe-run instead of to init, reaped, and
listed in the --report as adopted. The deadline's signal reaches each stage's
whole tree at once, setsid escapees included, and --kill-after's KILL reaches
every process below pipe-run at once: the tree is first frozen with SIGSTOP
until a scan of /proc finds nothing new (so a tree that keeps forking cannot
outrun it), then gets the signal and CONT. After a passed-on signal or a
deadline, once the stages have ended, whatever they left behind gets the same
signal and KILL one second later: nothing is left running when pipe-run
exits. When the stages end on their own, what they left behind is left
running, as a shell leaves it (the report lists it); --wait-all waits for it,
--kill-leftovers DURATION KILLs what still runs DURATION after the last stage
ended.

--report text or json gives, after the run, each stage's verdict: its status
and signal; whether the deadline or a passed-on signal stopped it (stopped_by,
and the signals pipe-run sent it); whether its SIGPIPE was forgiven; its wall
and CPU time and largest resident set size (from wait4's rusage); and the
bytes it read and wrote (from /proc/PID/io, read just before it is reaped).
The JSON's top-level "status" is the status pipe-run exits with (124 after
the deadline, with "timed_out": true), "pipeline_status" the pipeline's own.

Each stage gets PR_SET_PDEATHSIG with the --signal signal (TERM by default),
so that a SIGKILL of pipe-run does not leave the stages running;
--no-pdeathsig turns that off.

--trace prints every pipe(), fork(), dup2(), close(), execve(), kill() and
waitpid() as it happens, with pids and fd numbers: a way to watch a pipeline
being built.

--label prefixes each line a stage writes to stderr with the stage's number
and program name: [2 grep] grep: x: No such file or directory. Each stage's
stderr is then a pipe that pipe-run reads while it waits, and each line is
written to pipe-run's stderr as soon as its newline comes, whole, in one
write(2): never cut, never mixed with another stage's line. (On a pipe,
pipe-run writes at most PIPE_BUF, 4096 bytes, of whole lines at a time,
which other writers of the same pipe cannot cut either; a longer line goes
in a write of its own.) A line longer than 16384
bytes is written in pieces of at most 16384 bytes, cut between UTF-8
characters, each labelled and ended with a newline; a last line without a
newline gets one. With --shell the name is the command's first word. --trace
lines go to stderr unlabelled, between the labelled ones. --label cannot be
combined with --merge-stderr, which sends stderr down the pipe, where no
label can be added. Without --label the stages write to pipe-run's stderr
themselves, with nothing in between.

Once the stages have ended, pipe-run labels what is already in their stderr
pipes and closes them: it does not wait for processes left behind that
still hold them (with --wait-all or --kill-leftovers it labels their lines
while it waits for them); such a process gets EPIPE (or SIGPIPE) if it
writes to its stderr after that. If pipe-run's stderr is a pipe nobody reads
when it starts, the stages get it as it is; if its reader goes away during
the run, pipe-run closes the stages' pipes, so that the next line a stage
writes to its stderr gets it SIGPIPE, as without --label. While pipe-run's stderr takes nothing
(a terminal stopped with Ctrl-S, a pipe nobody reads), pipe-run stops
reading the stages' stderr, so that they wait as they would without
--label, and still keeps the deadline and passes signals on; after a
deadline or a passed-on signal, what its stderr has not taken within a
second is dropped.

--progress draws one line at the bottom of the terminal, only when stderr
is a terminal (nothing at all otherwise), refreshed at most ten times a
second: how far the first stage has read its input file, as a percentage of
the file's size, with the rate and an estimated time left (ETA); then each
stage's rates of reading (r) and writing (w). No byte passes through
pipe-run: the position is the first stage's file offset, read from
/proc/PID/fdinfo as pv -d does, and the rates come from /proc/PID/io. The
input file is the first stage's stdin when that is a regular file (-i FILE,
or a file redirected to pipe-run), else the lowest-numbered regular file
the first stage has open for reading (cat FILE); if there is none, the line
shows how many bytes the first stage has read, and how fast. The line is
erased before pipe-run writes its report or exits, also when it dies of a
passed-on signal. With --label, the labelled lines are written above it;
what the stages write to the terminal themselves (their stderr without
--label, the last stage's stdout) starts on the line it is on: give the
output to -o FILE, or redirect it, to keep the two apart.
""",
    "exit_status": [
        ("0", "The last stage (with --pipefail: every stage) succeeded; with --pipefail-sigpipe-ok, a stage killed by SIGPIPE after the stage it writes to had gone counts as succeeded."),
        ("1", "pipe-run could not run: an --input file cannot be read, an --output file cannot be opened. No stage was started. Or the --report could not be written, when the status would otherwise have been 0."),
        ("2", "Usage error: no stage, an empty stage, unbalanced quotes, a shell operator in a stage (without --shell), a stage of NAME=value words only, a bad duration or signal, an unknown option."),
        ("124", "The --timeout deadline was reached, whatever the stages' statuses (the --report gives them; its JSON status is 124 too), and even if pipe-run received a signal after it, as with coreutils timeout."),
        ("126", "The last stage (or, with --pipefail, the failing one) was found but could not be executed."),
        ("127", "That stage's command was not found."),
        ("128+N", "That stage was killed by signal N (141 is SIGPIPE; with --pipefail-sigpipe-ok, only a SIGPIPE its reader did not cause). When pipe-run itself gets SIGINT, SIGTERM, SIGHUP or SIGQUIT, it waits for every stage, then dies of that signal if a stage died of it (unless the deadline had been reached: 124); otherwise it exits with the pipeline's status (bash's cooperative exit)."),
        ("other", "The status of the last stage, or with --pipefail of the rightmost failing stage."),
    ],
    "examples": [
        ('pipe-run "ls" "wc -l"', "Count the entries of the current directory, like ls | wc -l."),
        ('pipe-run --pipefail "yes" "head -1"', "Prints y and exits 141: yes was killed by SIGPIPE, which bash's set -o pipefail also reports."),
        ('pipe-run --pipefail-sigpipe-ok "yes" "head -1"', "Prints y and exits 0: yes died of SIGPIPE because head, its reader, had exited. A stage that dies of SIGPIPE while its reader still reads still fails the pipeline."),
        ('pipe-run -i access.log -o top.txt "cut -d\\  -f1" "sort" "uniq -c" "sort -rn"', "Redirections without a shell: read access.log, write top.txt."),
        ('pipe-run -i words.txt "LC_ALL=C sort -u" "wc -l"', "Count the distinct lines of words.txt, compared byte by byte: LC_ALL=C is sort's environment, as in sh."),
        ('pipe-run --timeout 5 -k 1 --report json "tail -f log" "grep ERROR" > errors.txt', "Collect for 5 seconds the ERROR lines of a growing log (from its last ten lines on) into errors.txt: at the deadline tail gets TERM first, and grep, at end-of-file, writes out what it matched and exits; KILL follows one second after the deadline if anything still runs. Then a JSON report of every stage goes to stderr, and pipe-run exits 124."),
        ('pipe-run --trace "echo hi" "tr a-z A-Z"', "Watch the pipe, forks, dup2s and execs happen."),
        ('pipe-run --cycle "python3 server.py" "python3 client.py"', "Two processes talking to each other: each one's stdout is the other's stdin."),
        ('pipe-run --label "ls -d / /nonexistent" "wc -l"', "Prints 1, and on stderr: [1 ls] ls: cannot access '/nonexistent': No such file or directory."),
        ('pipe-run --progress -i big.log -o errors.txt "grep ERROR"', "On a terminal, a line such as 45% 230MiB of 512MiB 120MiB/s ETA 0:02 | [1 grep] r 120MiB/s w 1.20MiB/s while grep reads big.log; erased at the end."),
    ],
    "notes": """
SIGPIPE and SIGXFSZ are always set back to their default action in the stages:
the Python interpreter ignores both before any of pipe-run's code runs, so
pipe-run cannot tell whether they were already ignored when it was started.
Every other signal that was ignored when pipe-run started (SIGHUP under nohup,
SIGINT in a background job) stays ignored in the stages, as with a shell.

The stages share pipe-run's process group, and pipe-run cannot tell a
signal sent to that whole group from one sent to it alone (both come from
another process, with its pid). A TERM, HUP or INT sent to the group (kill
-TERM -PGID, kill %1 in an interactive bash, coreutils timeout, which
signals its command's whole group unless given --foreground) reaches every
stage at once, downstream ones included, and pipe-run then passes it on in
its order as well: each stage gets it twice (a program that takes a second
TERM as "stop now, without cleaning up" stops at once). Send the signal to
pipe-run's pid alone, or use pipe-run's own --timeout rather than timeout(1),
to have the stages stopped upstream first, once each.

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

The report's max RSS is the kernel's ru_maxrss, which also counts the
process before it called exec: a stage starts as a forked copy of pipe-run,
so a stage smaller than pipe-run itself (about 15 MB) shows pipe-run's size.
Its CPU time and max RSS include the descendants it waited for; its bytes
read and written (every read and write it made, the loader's reads of its
libraries, pipes and terminals included) are its own only. /proc/PID/io is
readable only where ptrace would be allowed: a stage that runs a
set-user-ID program (sudo) gets null bytes in the JSON report ("?" in text),
as it does on a kernel built without task I/O accounting.

With --pipefail-sigpipe-ok a stage's reader sees end-of-file only once
pipe-run has reaped the stage writing to it (which it does as soon as it
ends): a pipe-run stopped with SIGSTOP holds its stages' readers up.

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
    pipefail_sigpipe_ok: bool = typer.Option(False, "--pipefail-sigpipe-ok", help="--pipefail, except that a stage killed by SIGPIPE counts as 0 when the stage it writes to had already exited or closed its stdin (yes | head -1 exits 0); any other SIGPIPE still fails."),
    input_file: Optional[str] = typer.Option(None, "-i", "--input", metavar="FILE", help="Read the first stage's stdin from FILE."),
    output_file: Optional[str] = typer.Option(None, "-o", "--output", metavar="FILE", help="Write the last stage's stdout to FILE, truncating it."),
    append_file: Optional[str] = typer.Option(None, "-a", "--append", metavar="FILE", help="Append the last stage's stdout to FILE."),
    merge_stderr: bool = typer.Option(False, "--merge-stderr", help="Send each stage's stderr into the pipe with its stdout (bash's |&); the last stage's stderr stays ours."),
    timeout: Optional[str] = typer.Option(None, "--timeout", metavar="DURATION", help="At DURATION (seconds, or with unit s/m/h/d) signal the stages, upstream first (then CONT, so that a stopped stage ends too), and exit 124; 0 means no deadline."),
    timeout_signal: str = typer.Option("TERM", "-s", "--signal", metavar="SIGNAL", help="The signal sent at the deadline."),
    kill_after: Optional[str] = typer.Option(None, "-k", "--kill-after", metavar="DURATION", help="Send KILL this long after the deadline signal to everything still running."),
    stage_grace: Optional[str] = typer.Option(None, "--stage-grace", metavar="DURATION", help="At the deadline or on a passed-on signal, how long a downstream stage may take to finish once the stage feeding it has ended (or was signalled and did not end) before it is signalled too; default 1s."),
    all_at_once: bool = typer.Option(False, "--all-at-once", help="At the deadline or on a passed-on signal, signal every stage at once (coreutils timeout's way) instead of upstream first."),
    report: Optional[Literal["text", "json"]] = typer.Option(None, "--report", help="After the run, report every stage (argv, pid, status, signal, whether the deadline or a passed-on signal stopped it, whether its SIGPIPE was forgiven, wall and CPU time, max RSS, bytes read and written) to stderr."),
    report_file: Optional[str] = typer.Option(None, "--report-file", metavar="FILE", help="Write the --report to FILE instead of stderr."),
    trace: bool = typer.Option(False, "--trace", help="Print each pipe/fork/dup2/exec/wait step to stderr as it happens."),
    cycle: bool = typer.Option(False, "--cycle", help="Also connect the last stage's stdout to the first stage's stdin."),
    wait_all: bool = typer.Option(False, "--wait-all", help="Also wait for every process the stages left behind (adopted by pipe-run)."),
    kill_leftovers: Optional[str] = typer.Option(None, "--kill-leftovers", metavar="DURATION", help="Once every stage has ended, KILL what they left behind that is still running DURATION later."),
    no_pdeathsig: bool = typer.Option(False, "--no-pdeathsig", help="Do not give the stages PR_SET_PDEATHSIG: if pipe-run is killed, they keep running."),
    label: bool = typer.Option(False, "--label", help="Prefix each line the stages write to stderr with the stage's number and program name: [2 grep] ..."),
    progress: bool = typer.Option(False, "--progress", help="On a terminal's stderr, show how far the first stage has read its input file (percent, rate, ETA) and each stage's rates."),
    version: bool = version_option(PROG),
) -> int:
    """Run STAGEs as a pipeline: pipe-run "ls" "wc -l" is ls | wc -l."""
    from ..durations import parse_duration
    from ..pipeline import STAGE_GRACE, Pipeline, upstream_first
    from ..pipeline import all_at_once as every_stage_at_once
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
        # pipe-run sort -k 2 "head -1": sort's -k, read as pipe-run's
        hint = next(filter(None, (_misplaced_option_hint(name, sys.argv[1:], with_value=True)
                                  for name in ("-k", "--kill-after"))), None)
        raise UsageError("--kill-after needs --timeout" + (f"; {hint}" if hint else ""))
    leftovers_s = parse_or_usage(parse_duration, kill_leftovers, "--kill-leftovers") if kill_leftovers is not None else None
    if wait_all and leftovers_s is not None:
        raise UsageError("--wait-all and --kill-leftovers cannot be used together")
    if timeout_signal == "TERM":  # the default needs no parsing: pyipc.signames (with pyipc.integers) is not imported
        signum: int = signal.SIGTERM
    else:
        from ..signames import parse_signal

        signum = parse_or_usage(parse_signal, timeout_signal, "--signal")
    if label and merge_stderr:
        raise UsageError("--label and --merge-stderr cannot be used together: merged stderr goes down the pipe, where no label can be added")
    if stage_grace is not None and (all_at_once or cycle):
        raise UsageError(f"--stage-grace has no effect with {'--all-at-once' if all_at_once else '--cycle'}: "
                         "every stage gets the signal at once")
    grace_s = parse_or_usage(parse_duration, stage_grace, "--stage-grace") if stage_grace is not None else STAGE_GRACE
    # A cycle has no stage upstream of the others: every stage at once.
    order = every_stage_at_once if (all_at_once or cycle) else upstream_first
    pipefail = pipefail or pipefail_sigpipe_ok
    try:
        pipeline = Pipeline(stages, shell=shell, merge_stderr=merge_stderr, cycle=cycle, forward_signals=True,
                            subreaper=True, parent_death_signal=None if no_pdeathsig else signum,
                            trace=Tracer(2, f"{PROG}: ") if trace else None, sigpipe_ok=pipefail_sigpipe_ok)
    except ShellOperatorError as exc:
        raise UsageError(_operator_text(exc, stages)) from None

    stdin_fd = _open_input(input_file) if input_file is not None else None
    opened, report_fd = [stdin_fd], None
    extras: Optional[_StderrExtras] = None  # --label, --progress
    try:
        stdout_fd, report_fd = _open_outputs(output_file if output_file is not None else append_file,
                                             append_file is not None, report_file, stdin_fd)
        opened.append(stdout_fd)
        pipeline.stdin, pipeline.stdout = stdin_fd, stdout_fd
        if label or (progress and os.isatty(2)):  # off: the stages write to our stderr themselves
            extras = _StderrExtras(pipeline, label, progress, shell)
        with pipeline:
            for error in pipeline.start():
                warn(PROG, f"{error.filename}: {error.reason}")
            for fd in (stdin_fd, stdout_fd):  # the stages hold their own copies now
                if fd is not None:
                    os.close(fd)
                    opened.remove(fd)
            if extras is not None:
                extras.started(pipeline)
            result = pipeline.wait(timeout=seconds or None, timeout_signal=signum, kill_after=grace, pipefail=pipefail,
                                   wait_all=wait_all, leftovers_kill_after=leftovers_s, order=order,
                                   stage_grace=grace_s)
        if extras is not None:
            finishing, extras = extras, None
            finishing.finish(stopped=result.timed_out or result.received_signal is not None)
    except BaseException:
        if extras is not None:
            extras.finish(stopped=True)
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
    status = result.exit_status  # 124 after the deadline, as the report says
    if lost is not None:  # as reap-watch: the run's own status, or 1 if that was 0
        where = f" to '{report_file}'" if report_file is not None else ""
        raise Die(f"cannot write the report{where}: {lost.strerror}", status or EXIT_FAILURE)
    return status


def _operator_text(exc: ShellOperatorError, stages: List[str]) -> str:
    """What to do instead of a shell operator in a stage: the stages apart,
    -i/-o/-a, --merge-stderr, or --shell."""
    token, at, line = exc.token, exc.position, exc.line
    where = f"stage {exc.stage + 1}" if exc.stage is not None else repr(line)
    what = "is a shell operator"
    if token in ("$(", "`"):
        what = "starts a command substitution"
    elif token == ">&" and line.startswith("2>&1", at - 1):
        token, what = "2>&1", "is a shell redirection"
    if token == "|":
        advice = "use one argument per stage"
        if exc.stage is not None and all(op == "|" for op, _ in exc.operators):
            cuts = [-1, *(position for _, position in exc.operators), len(line)]
            pieces = [line[start + 1:end].strip() for start, end in zip(cuts, cuts[1:])]
            if all(pieces):
                split = [*stages[:exc.stage], *pieces, *stages[exc.stage + 1:]]
                advice += f" ({PROG} {' '.join(as_typed(stage) for stage in split)})"
        advice += ", or --shell"
    elif token == "|&":
        advice = "use one argument per stage and --merge-stderr, or --shell"
    elif token == "2>&1":
        advice = "use --merge-stderr to send each stage's stderr down the pipe, or --shell"
    elif token[0] == "<":
        advice = "use -i FILE for the first stage's stdin, or --shell"
    elif ">" in token:
        advice = "use -o FILE or -a FILE for the last stage's stdout, or --shell"
    else:
        advice = "a stage is one command: use --shell to have sh run it"
    return f"{where}: {token!r} {what} (quote it to pass it on as an argument); {advice}"


def _option_hint(exc: object, args: List[str]) -> Optional[str]:
    """pipe-run ls -la "wc -l": Typer says "no such option: -l"; add that
    the option was meant for the stage before it, inside its quotes. And
    --pipefail=sigpipe-ok (the form the issue first asked for; click has no
    optional option values) points to --pipefail-sigpipe-ok."""
    if any(arg.startswith("--pipefail=") for arg in args) and "'--pipefail' does not take a value" in str(exc):
        return "for a pipefail that forgives a SIGPIPE its reader caused, use --pipefail-sigpipe-ok"
    name = getattr(exc, "option_name", None)
    if not name or not hasattr(exc, "possibilities"):  # click's NoSuchOption only
        return None
    return _misplaced_option_hint(name, args, with_value=False)


def _misplaced_option_hint(name: str, args: List[str], *, with_value: bool) -> Optional[str]:
    """If option ``name`` (as typed: -k, --kill-after) first comes after a
    stage, the hint that it was meant for that stage, inside its quotes
    (with its value when ``with_value``: pipe-run sort -k 2 "head -1")."""
    import shlex

    from ._cli import value_options

    takes_value = value_options(app, PROG)
    stage = None
    words = iter(args)
    for arg in words:
        if arg == "--":
            return None
        if arg[:1] == "-" and len(arg) > 1:
            if arg == name or arg.split("=", 1)[0] == name or (name[:2] != "--" and arg[:2] == name):
                if stage is None:
                    return None
                typed = [arg]
                if with_value and arg == name and arg in takes_value:
                    typed.append(next(words, ""))
                return f"a stage's options go inside its quotes: {as_typed(' '.join([stage, *map(shlex.quote, typed)]))}"
            if arg in takes_value:
                next(words, None)
        else:
            stage = arg
    return None


class _StderrExtras:
    """--label and --progress: our stderr, written from the supervision loop
    (pyipc.errstream), with the stages' labelled lines (pyipc.labels) above
    the progress line (pyipc.progress)."""

    def __init__(self, pipeline: Pipeline, label: bool, progress: bool, shell: bool):
        from ..errstream import ErrStream
        from ..labels import StderrLabels, label_name

        self.stream = ErrStream(2)
        names = [label_name(argv, shell) for argv in pipeline.argvs]
        if pipeline.trace is not None:  # trace lines go out between labelled lines, never inside one
            pipeline.trace = self.stream.tracer(pipeline.trace)
        try:
            self.labels = StderrLabels(self.stream, names, pipeline.trace) if label else None
        except BaseException:
            self.stream.close(0)
            raise
        if self.labels is not None:
            pipeline.stage_stderr = list(self.labels.stage_fds)
        self.progress = None
        if progress:
            from ..progress import Progress

            self.progress = Progress(self.stream, names)

    def started(self, pipeline: Pipeline) -> None:
        assert pipeline.supervisor is not None
        if self.labels is not None:
            self.labels.started(pipeline.supervisor)
        if self.progress is not None:
            pids = [None if stage.error is not None else stage.pid for stage in pipeline.stages]
            self.progress.started(pipeline.supervisor, pids)

    def finish(self, stopped: bool) -> None:
        """Before the report and the exit (a forwarded signal's death
        included): the last lines out, the progress line erased. After a
        deadline or a signal, a stderr that takes nothing for a second is
        given up on."""
        try:
            if self.labels is not None:
                self.labels.finish()
            if self.progress is not None:
                self.progress.finish()
        finally:
            self.stream.close(give_up_after=1.0 if stopped else None)
            if self.labels is not None:
                self.labels.close()


def _open_input(path: str) -> int:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as exc:
        # pipe-run grep -i error "wc -l": grep's -i, read as pipe-run's
        hint = next(filter(None, (_misplaced_option_hint(name, sys.argv[1:], with_value=True)
                                  for name in ("-i", "--input"))), None)
        raise Die(f"cannot open '{path}': {exc.strerror}" + (f"; {hint}" if hint else ""), EXIT_FAILURE) from None
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
        import shlex

        from ..status import signal_name

        lines = [_stage_line(number, stage) for number, stage in enumerate(result.stages, 1)]
        for adopted in result.adopted:
            lines.append(f"{PROG}: adopted: pid {adopted.pid} status {adopted.exit.shell_status} "
                         f"({adopted.exit.describe()}): {shlex.join(adopted.argv)}")
        for pid, argv in result.left_running:
            lines.append(f"{PROG}: left running: pid {pid}: {shlex.join(argv)}")
        line = f"{PROG}: pipeline status {result.status}"
        if result.pipefail:
            line += " (pipefail, sigpipe-ok)" if result.sigpipe_ok else " (pipefail)"
        causes = (["deadline"] if result.timed_out else []) + \
                 ([f"received {signal_name(result.received_signal)}"] if result.received_signal else [])
        if causes or result.exit_status != result.status:
            line += f" ({', '.join(causes)}: exit {result.exit_status})"
        lines.append(line)
        text = "\n".join(lines) + "\n"
    data = text.encode("utf-8", "surrogateescape")
    fd = 2 if report_fd is None else report_fd
    try:
        while data:
            data = data[os.write(fd, data):]
    except OSError as exc:
        return exc
    return None


def _stage_line(number: int, stage: StageResult) -> str:
    """pipe-run: stage 1: pid 4242 status 143 (killed by SIGTERM) [stopped by the deadline: sent SIGTERM]
    2.001s wall, 0.001s cpu, max rss 10.6 MiB, read 6.8 KiB, wrote 0 B: tail -f log"""
    import shlex

    from ..status import signal_name

    how = stage.exit.describe() if stage.exit else "not started"
    if stage.error is not None:
        how = f"{stage.error.reason}"
    verdict = ""
    if stage.stopped_by is not None:
        sent = ", ".join(signal_name(signum) for signum in stage.signals_sent)
        cause = "the deadline" if stage.stopped_by == "deadline" else "a received signal"
        verdict = f" [stopped by {cause}{': sent ' + sent if sent else ''}]"
    if stage.sigpipe_forgiven:
        verdict += " [SIGPIPE forgiven: its reader had gone]"
    # its NAME=value words first, as typed: A='x y' (a quoted whole word would not be an assignment)
    command = " ".join([f"{name}={shlex.quote(value)}" for name, value in stage.env.items()] + [shlex.join(stage.argv)])
    cpu = "?" if stage.cpu_s is None else f"{stage.cpu_s:.3f}s"
    rss = "?" if stage.max_rss_kib is None else _size(stage.max_rss_kib * 1024)
    read, wrote = ("?", "?") if stage.io is None else (_size(stage.io.rchar), _size(stage.io.wchar))
    return (f"{PROG}: stage {number}: pid {stage.pid} status {stage.status} ({how}){verdict} "
            f"{stage.wall_s:.3f}s wall, {cpu} cpu, max rss {rss}, read {read}, wrote {wrote}: {command}")


def _size(count: int) -> str:
    """1023 B, 6.8 KiB, 10.6 MiB"""
    if count < 1024:
        return f"{count} B"
    value = float(count)
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        value /= 1024
        if value < 1024 or unit == "TiB":
            break
    return f"{value:.1f} {unit}"


def main() -> None:
    run(app, PROG, usage=USAGE, hint=_option_hint)
