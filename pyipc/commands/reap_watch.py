"""reap-watch: a child subreaper that reaps everything and reports how each process ended."""

from __future__ import annotations

import os

TYPE_CHECKING = False  # typing costs start-up; the annotations are strings only Typer reads (App.build)
if TYPE_CHECKING:
    from typing import List, Optional

    from ..reaping import Death, LeftRunning, WatchedEnd

from . import _declare as typer  # typer.Option/Argument recorded; the real typer loads only when needed

from ..errors import EXIT_FAILURE, EXIT_TIMEOUT, UsageError
from ._cli import Die, as_typed, die_of_signal, make_app, oserror_text, parse_or_usage, run, version_option, warn
from ._values import VALUES_TEXT

PROG = "reap-watch"
USAGE = "[OPTIONS] COMMAND [COMMAND...] | --pid PID [--pid PID...] | --zombies"

MANUAL = {
    "summary": "run commands as a child subreaper, reap every process and report how each one ended",
    "description": """
reap-watch runs each COMMAND as a direct child and marks itself a child
subreaper (prctl PR_SET_CHILD_SUBREAPER), so that every process orphaned below
it is re-parented to it instead of to init. It reaps all of them promptly and
reports each death on stderr (or to --output FILE): pid, name, how it ended
(exited N, killed by SIGNAME, core dumped), wall time since it started, and
the CPU time and peak memory that wait4 returns. An adopted process is marked
(adopted); its name and start time are read from /proc/PID/stat while it is
still a zombie, just before it is reaped. Each COMMAND is one command line,
split into words like sh does, with no expansion; an unquoted shell operator
(| & ; < > ( ) or $() is a usage error: give such a line to sh -c as one
COMMAND.

A zombie is a process that has ended but whose parent has not yet collected
its exit status with wait. A SIGCHLD handler that calls waitpid once leaks
zombies, because SIGCHLD signals that arrive together merge into one.
reap-watch blocks its signals and takes them with sigtimedwait, and on every
SIGCHLD collects every child that has ended until none is left.

Each COMMAND starts with the signal mask reap-watch inherited and gets
PR_SET_PDEATHSIG with SIGTERM, so a SIGKILL of reap-watch does not leave it
running (--no-pdeathsig turns that off). Children that end while later
COMMANDs are still being started are reaped between starts, with their true
wall time.

reap-watch ends when every COMMAND has ended; adopted processes still running
are left to run, and the report names each one (pid, name, argv; in --json,
"running": true). With --wait-all it waits for every adopted process too.

SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2 and SIGQUIT sent to reap-watch are
passed on to the direct children (with --group, to each one's process group;
with --wait-all, also to the adopted processes). A Ctrl-C or Ctrl-\\ typed at
the terminal already reached every process of reap-watch's group, and is sent
only to those outside it. --grace sends KILL to whatever is left that long
after the first SIGTERM, SIGINT, SIGHUP or SIGQUIT; once its children are
gone, what they left behind (setsid escapees included) gets the same signal
and KILL a --grace later (one second without --grace), so that nothing is
left running; then reap-watch dies of that signal if a COMMAND died of it,
and otherwise exits with the status it would have had, as tini does
(cooperative exit). SIGUSR1 and SIGUSR2 are only passed on:
they do not change reap-watch's exit status. A signal that was ignored when
reap-watch started (nohup, a background job) stays ignored.

--pid watches processes that are not its children, through pidfds, and
reports each one's end as it happens. Only a parent can wait for an exit
status: reap-watch reports it when the ended process is still a zombie when it
looks (its parent has not reaped it yet) and otherwise says that it is unknown.

--zombies lists the zombie processes of this machine: pid, name, parent pid
and name, and how long ago the process started (the kernel keeps no time of
death).
""",
    "exit_status": [
        ("0", "Every COMMAND exited 0; with --pid, every watched process ended; with --zombies, there is no zombie."),
        ("1", "With --zombies: there is at least one zombie. Otherwise reap-watch could not run (an --output file cannot be opened, a --pid does not exist), or the report could not be written (when the status would otherwise have been 0)."),
        ("2", "Usage error: no COMMAND, an empty command, unbalanced quotes, a bad duration or pid, options that do not go together."),
        ("124", "With --pid: the --timeout ran out before every watched process ended; stderr names those still running."),
        ("126", "The first failing COMMAND was found but could not be executed."),
        ("127", "The first failing COMMAND was not found."),
        ("128+N", "The first failing COMMAND was killed by signal N. When reap-watch itself gets SIGTERM, SIGINT, SIGHUP or SIGQUIT, it dies of that signal once its children are gone, if a COMMAND died of it; a COMMAND that handled it and exited gives its own status (a clean docker stop exits 0)."),
        ("other", "The exit status of the first COMMAND, in command-line order, that did not exit 0."),
    ],
    "examples": [
        ("reap-watch \"sh -c '/bin/true & exec sleep 2'\"",
         "The child that exits while its parent sleeps: true ends at once, but its parent (sh, now sleep) never waits, so true is a zombie for 2 seconds; run reap-watch --zombies in another terminal to see it. When sleep ends, true is re-parented to reap-watch, which reports it as adopted."),
        ("reap-watch \"sh -c 'exit 3'\" \"sh -c 'exit 7'\"",
         "Two children collected with their exit codes: reports exited 3 and exited 7, and exits 3, the first failing child's status."),
        ("reap-watch --zombies", "List the zombies of this machine with their parents; exit 1 if there are any."),
        ("reap-watch --wait-all --json \"sh -c 'for i in 1 2 3 4 5; do (sleep 1 &); done'\"",
         "Five grandchildren orphaned at once, each adopted, reaped and reported as one JSON line."),
        ("reap-watch --group --grace 10s \"make -j4\"",
         "Run a build in its own process group; a SIGTERM to reap-watch reaches every process of the group, and KILL follows 10 seconds later."),
        ("reap-watch --pid 1234 --pid 5678 --timeout 1m", "Report when two processes that are not our children end; exit 124 after a minute if one is still running."),
    ],
    "notes": """
CPU time and max RSS come from wait4(2). Linux keeps a process's peak resident
size across execve(2), so for a direct child the max RSS is at least that of
the copy of reap-watch it was forked from (about 15 MiB for a Python process),
even when the program it ran was far smaller. Adopted processes were forked by
their own parents and do not carry that floor. CPU time includes the
descendants the process reaped itself.

The kernel keeps no time of death for a zombie: --zombies shows how long ago
each one started.

SIGPIPE and SIGXFSZ are always set back to their default action in the
COMMANDs: the Python interpreter ignores both before any of reap-watch's code
runs, so reap-watch cannot tell whether they were already ignored when it was
started. Every other signal ignored at start stays ignored.

Once reap-watch is gone (SIGKILL), PR_SET_PDEATHSIG still reaches the
COMMANDs, but not what they started: those go to init (or to the nearest other
subreaper). Finding everything below reap-watch freezes it with SIGSTOP until
a scan of /proc finds nothing new.

--output FILE is opened (and truncated) only after every other check has
passed, --pid targets included. If the report cannot be written (a full disk,
/dev/full), reap-watch goes on reaping and says so once, at the end.
""" + VALUES_TEXT,
    "see_also": ["wait4(2)", "waitid(2)", "prctl(2)", "pidfd_open(2)", "proc(5)", "tini(1)", "ps(1)"],
    "complete_args": ["command"],
}

app = make_app("Run COMMANDs as a child subreaper; reap every process and report how each one ended.")



@app.command()
def reap_watch(
    commands: Optional[List[str]] = typer.Argument(None, metavar="COMMAND...", help="One command line per direct child, split like sh does (quotes, backslashes), with no expansion.", show_default=False),
    wait_all: bool = typer.Option(False, "--wait-all", help="Also wait for every adopted process, not only the COMMANDs."),
    group: bool = typer.Option(False, "--group", help="Run each COMMAND in a process group of its own; forwarded signals go to the whole group."),
    grace: Optional[str] = typer.Option(None, "--grace", metavar="DURATION", help="KILL what is left this long after the first forwarded signal."),
    json_lines: bool = typer.Option(False, "--json", help="Report each process as one JSON object per line."),
    output: Optional[str] = typer.Option(None, "-o", "--output", metavar="FILE", help="Write the reports to FILE instead of stderr."),
    pid_specs: Optional[List[str]] = typer.Option(None, "--pid", metavar="PID", help="Watch process PID (not a child) and report its end; repeatable.", show_default=False),
    timeout: Optional[str] = typer.Option(None, "--timeout", metavar="DURATION", help="With --pid: exit 124 if a watched process is still running after DURATION."),
    zombies: bool = typer.Option(False, "--zombies", help="List the zombie processes of this machine and exit (1 if there are any)."),
    no_pdeathsig: bool = typer.Option(False, "--no-pdeathsig", help="Do not give the COMMANDs PR_SET_PDEATHSIG: if reap-watch is killed, they keep running."),
    version: bool = version_option(PROG),
) -> int:
    """Run COMMANDs as a child subreaper; reap every process and report how each one ended."""
    from ..durations import parse_duration

    pids = []
    if pid_specs:
        from ..integers import parse_pid

        pids = [parse_or_usage(parse_pid, text, "--pid") for text in pid_specs]
    modes = sum((bool(commands), bool(pids), zombies))
    if modes == 0:
        raise UsageError("missing COMMAND (or --pid PID, or --zombies)")
    if modes > 1:
        raise UsageError("COMMANDs, --pid and --zombies cannot be used together")
    if timeout is not None and not pids:
        raise UsageError("--timeout works with --pid only")
    if (wait_all or group or grace is not None or no_pdeathsig) and not commands:
        raise UsageError("--wait-all, --group, --grace and --no-pdeathsig need a COMMAND")
    seconds = parse_or_usage(parse_duration, timeout, "--timeout") if timeout is not None else None
    grace_s = parse_or_usage(parse_duration, grace, "--grace") if grace is not None else None
    argvs = [_split(number, line) for number, line in enumerate(commands or (), 1)]
    if zombies:
        return _zombies(json_lines)
    for pid in pids or ():  # before -o truncates anything: a run that cannot start leaves it alone
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            raise Die(f"--pid {pid}: no such process") from None
        except PermissionError:
            pass  # it exists; pidfd_open does not need the right to signal it
    out_fd = _open_output(output) if output is not None else 2
    try:
        report = _Reporter(out_fd, json_lines)
        if pids:
            status = _watch(pids, seconds, timeout, report)
        else:
            status = _reap(argvs, report, wait_all=wait_all, group=group, grace=grace_s, pdeathsig=not no_pdeathsig)
    finally:
        if out_fd != 2:
            os.close(out_fd)
    if report.write_error is not None:  # the reaping went on; now say that its report is lost
        where = f" to '{output}'" if output is not None else ""
        raise Die(f"cannot write the report{where}: {report.write_error.strerror}", status or EXIT_FAILURE)
    return status


def _split(number: int, line: str) -> list[str]:
    from ..cmdline import split_command
    from ..errors import ShellOperatorError

    try:
        return split_command(line)
    except ShellOperatorError as exc:
        import shlex

        what = "starts a command substitution" if exc.token == "$(" else "is a shell operator"
        raise UsageError(f"COMMAND {number}: {exc.token!r} {what} (quote it to pass it on as an argument); "
                         f"a shell runs the line as one COMMAND: {as_typed('sh -c ' + shlex.quote(line))}") from None


def _reap(argvs: list[list[str]], report: _Reporter, *, wait_all: bool, group: bool, grace: float | None,
          pdeathsig: bool) -> int:
    from .._signals import signal
    from ..reaping import Reaper

    try:
        with Reaper(argvs, on_death=report, on_drained=report.flush, group=group, wait_all=wait_all,
                    grace=grace, parent_death_signal=signal.SIGTERM if pdeathsig else None) as reaper:
            reaper.start()  # a COMMAND that cannot start is reported (126/127); the others run
            result = reaper.wait()
        for left in result.left_running:
            report(left)
    except OSError as exc:
        raise Die(f"cannot run: {exc.strerror}") from None
    finally:
        report.flush()
    # cooperative exit, as tini: only if a child died of it (received_signal is then set)
    if result.died_of_received_signal and result.received_signal is not None:
        die_of_signal(result.received_signal)
    return result.status


def _watch(pids: list[int], seconds: float | None, timeout_text: str | None, report: _Reporter) -> int:
    from ..reaping import watch_pids

    try:
        ended: set[int] = set()

        def on_end(end: WatchedEnd) -> None:
            ended.add(end.pid)
            report(end)
            report.flush()

        finished = watch_pids(pids, on_end=on_end, timeout=seconds or None)
    except ProcessLookupError as exc:
        raise Die(f"--pid {exc.filename}: no such process") from None
    except OSError as exc:
        raise Die(f"--pid {exc.filename}: {exc.strerror}") from None
    if finished:
        return 0
    running = [str(pid) for pid in dict.fromkeys(pids) if pid not in ended]
    warn(PROG, f"--timeout {timeout_text} reached; still running: pid {', '.join(running)}")
    return EXIT_TIMEOUT


def _zombies(json_lines: bool) -> int:
    import json

    from ..reaping import list_zombies

    found = list_zombies()
    if json_lines:
        lines = [json.dumps(z.as_dict()) for z in found]
    else:
        lines = [f"{'PID':>7} {'NAME':<16} {'PPID':>7} {'PARENT':<16} AGE"] if found else []
        lines += [f"{z.pid:>7} {z.name:<16} {z.ppid:>7} {z.parent_name:<16} {z.age_s:.1f}s" for z in found]
    if lines:
        print("\n".join(lines))
    else:
        warn(PROG, "no zombie processes")
    return 1 if found else 0


class _Reporter:
    """One line per death, buffered until flush(): the reaper flushes after each
    round of reaping, so a burst of a thousand deaths costs one write."""

    def __init__(self, fd: int, json_lines: bool):
        self.fd, self.json_lines = fd, json_lines
        self.lines: list[str] = []
        self.write_error: OSError | None = None  # the first failed write: said once, at the end
        if json_lines:  # json costs a few ms of start-up: only load it when asked for
            import json

            self.dumps = json.dumps

    def __call__(self, end: Death | WatchedEnd | LeftRunning) -> None:
        error = getattr(end, "error", None)
        if error is not None:
            self.flush()  # keep the order of what is already reported
            message = f"{error.filename}: {error.reason}"
            warn(PROG, message)  # on stderr in any case: the user should see it
            if not self.json_lines:
                if self.fd != 2:  # and in the -o report, which lists every COMMAND
                    self.lines.append(f"{PROG}: {message}")
                return
        self.lines.append(self.dumps(end.as_dict()) if self.json_lines else _describe(end))

    def flush(self) -> None:
        if not self.lines:
            return
        data = ("\n".join(self.lines) + "\n").encode("utf-8", "surrogateescape")
        self.lines = []
        try:
            while data:
                data = data[os.write(self.fd, data):]
        except OSError as exc:  # a report that cannot be written must not stop the reaping
            if self.write_error is None:
                self.write_error = exc


def _describe(end: Death | WatchedEnd | LeftRunning) -> str:
    from ..reaping import LeftRunning, WatchedEnd

    if isinstance(end, LeftRunning):
        what = " ".join(end.argv) if end.argv else end.name
        return f"{PROG}: pid {end.pid} ({end.name}, adopted): still running, left to run: {what}"
    if isinstance(end, WatchedEnd):  # a --pid watch: not our child
        how = end.exit.describe() if end.exit else "ended (exit status unknown: not our child)"
        extra = " (seen as a zombie: not our child)" if end.exit else ""
        wall = f" after {end.wall_s:.3f}s" if end.wall_s is not None else ""
        return f"{PROG}: pid {end.pid} ({end.name}): {how}{extra}{wall}"
    who = f"pid {end.pid} ({end.name}{', adopted' if end.adopted else ''})"
    how = end.exit.describe()
    parts = [f"after {end.wall_s:.3f}s" if end.wall_s is not None else "after ?"]
    if end.cpu_s is not None:
        parts.append(f"cpu {end.cpu_s:.3f}s")
    if end.max_rss_kb:
        parts.append(f"max rss {end.max_rss_kb} KiB")
    return f"{PROG}: {who}: {how} ({', '.join(parts)})"


def _open_output(path: str) -> int:
    from ..outputs import Output, open_outputs

    try:
        return open_outputs([Output(path)])[0]
    except OSError as exc:
        raise Die(f"cannot open {oserror_text(exc)}") from None


def main() -> None:
    run(app, PROG, usage=USAGE)
