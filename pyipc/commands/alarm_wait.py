"""alarm-wait: the alarm()/pause() pattern as a command; with a COMMAND, coreutils timeout."""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # typing costs start-up; the annotations are strings only Typer reads (App.build)
if TYPE_CHECKING:
    from typing import List, Optional

from .._signals import signal  # no enum import: see _signals
from . import _declare as typer  # typer.Option/Argument recorded; the real typer loads only when needed

from ..errors import EXIT_CANCELED, EXIT_OK, EXIT_TIMEOUT, UsageError
from ._cli import Die, die_of_signal, make_app, parse_or_usage, run, try_help, value_options, version_option, warn
from ._ready import READY_FD_HELP, ready_fd_or_usage
from ._values import VALUES_TEXT

PROG = "alarm-wait"
USAGE = "[OPTIONS] DURATION [-- COMMAND [ARG...]]"

MANUAL = {
    "summary": "wait for an alarm, a signal or a tick; or run a command under a deadline, like timeout",
    "description": """
DURATION is a non-negative number of seconds, fractional or not, with an
optional unit: s (seconds), m (minutes), h (hours) or d (days); every form it
takes (1e3, inf, 0x10) is in NOTES.

Without COMMAND, alarm-wait arms a real-time timer (setitimer ITIMER_REAL) and
waits for its SIGALRM, then exits 0; alarm-wait 0 exits at once. With --until
SIGNAL it ends early, with status 0, when it receives SIGNAL (for example
USR1, sent by sigsend), and exits 124 if the alarm fires first; with --until,
DURATION 0 means no deadline. With --every INTERVAL the timer is re-armed at
every INTERVAL and each expiry prints a line tick N, numbered from 1, until
--count N ticks or until DURATION, which is optional with --every.
--ready-fd N writes a newline to file descriptor N and closes it once the
--until signal is blocked and the timer armed: a signal sent after that is
waited for, never lost, and never kills alarm-wait (one sent before, in its
first milliseconds, still can, as it would kill sleep).

With COMMAND, alarm-wait behaves as coreutils timeout does. COMMAND runs in
its own process group (unless --foreground), with the signal mask alarm-wait
inherited; at the deadline --signal (TERM by default, followed by CONT) goes
to every process below alarm-wait, and KILL --kill-after later if COMMAND is
still running. -s 0 sends signal 0 (nothing) at the deadline, so that only
--kill-after ends COMMAND. alarm-wait is a child subreaper (prctl
PR_SET_CHILD_SUBREAPER): what COMMAND leaves behind, a process that called
setsid included, is re-parented to it, so "every process below" is
everything COMMAND started; the tree is frozen with SIGSTOP until a scan of
/proc finds nothing new, so that one that keeps forking cannot outrun the
signal. SIGTERM, SIGINT, SIGHUP and SIGQUIT sent to alarm-wait are passed on
to the command's group (each followed by CONT), so Ctrl-C or Ctrl-\\ at a
terminal stops it as well. After a deadline or such a signal, once COMMAND
has ended, what it left behind gets the same signal and KILL one second
later. With --foreground only COMMAND itself is signalled and nothing is
adopted. COMMAND gets PR_SET_PDEATHSIG with --signal (KILL for -s 0), so a
SIGKILL of alarm-wait does not leave it running; --no-pdeathsig turns that
off. DURATION 0 means no deadline. Options of alarm-wait come before DURATION;
everything after DURATION (and after an optional --) is the command and its
own options.

Every wait is done with the signals blocked and sigwaitinfo/sigtimedwait: a
signal that comes before the wait stays pending instead of being lost (the
alarm()/pause() race), and nothing runs in an asynchronous handler.
""",
    "exit_status": [
        ("0", "The alarm fired; or --until's signal arrived; or --count ticks were printed; or COMMAND succeeded."),
        ("124", "With --until: the alarm fired before the signal. With COMMAND: the deadline was reached (unless --preserve-status)."),
        ("125", "alarm-wait itself failed, usage errors included: an invalid or negative duration, an unknown signal, an unknown option."),
        ("126", "COMMAND was found but could not be executed."),
        ("127", "COMMAND was not found."),
        ("137", "COMMAND was killed by KILL, with -s KILL or after --kill-after (-s 0 -k 1 gives 137)."),
        ("other", "COMMAND's status. If COMMAND died of a signal (not sent at the deadline), alarm-wait dies of the same signal; after a timeout with --preserve-status, 128+N. A signal passed on to COMMAND ends alarm-wait only through COMMAND: if COMMAND handles it and exits, alarm-wait exits with that status (cooperative exit)."),
    ],
    "examples": [
        ("alarm-wait 1.5", "Sleep one and a half seconds, by an armed alarm."),
        ("alarm-wait --until USR1 30 && echo ready", "Wait up to 30 seconds for someone to run sigsend USR1 on this process; exit 124 otherwise."),
        ("exec 3< <(alarm-wait --until USR1 --ready-fd 4 30 4>&1); read -r -u 3; sigsend USR1 $!", "Start a waiter, wait until it is ready, then signal it: no sleep, no race."),
        ("alarm-wait --every 1 --count 3", "Print tick 1, tick 2, tick 3 one second apart."),
        ("alarm-wait 10 -- make test", "Run make test, terminate its whole process group after 10 seconds, exit 124 then."),
        ("alarm-wait -k 5 -s INT 1m -- ./server --port 8080", "Interrupt the server after a minute, and KILL it 5 seconds later if it is still running."),
    ],
    "notes": """
SIGPIPE and SIGXFSZ are always set back to their default action in COMMAND:
the Python interpreter ignores both before any of alarm-wait's code runs, so
alarm-wait cannot tell whether they were already ignored when it was
started. Every other signal ignored at start stays ignored in COMMAND.

Once alarm-wait is gone (SIGKILL), PR_SET_PDEATHSIG still reaches COMMAND, but
not what COMMAND started: those processes go to init (or to the nearest other
subreaper). Freezing a tree uses SIGSTOP: a job-control shell in it sees its
children stopped and continued before they get the signal.
""" + VALUES_TEXT,
    "see_also": ["timeout(1)", "sleep(1)", "setitimer(2)", "sigtimedwait(2)", "alarm(2)", "sigsend(1)"],
    "complete_args": ["duration", "command", "file"],
}

app = make_app("Wait for an alarm after DURATION, or run COMMAND under a DURATION deadline.", allow_interspersed_args=False)



@app.command()
def alarm_wait(
    duration: Optional[str] = typer.Argument(None, metavar="DURATION", help="Seconds, fractional, with an optional unit s, m, h or d; 0: at once, or no deadline.", show_default=False),
    command: Optional[List[str]] = typer.Argument(None, metavar="COMMAND", help="The command to run under the deadline, with its arguments.", show_default=False),
    until: Optional[str] = typer.Option(None, "--until", metavar="SIGNAL", help="Without COMMAND: end early with status 0 when this signal arrives; exit 124 if the alarm fires first."),
    every: Optional[str] = typer.Option(None, "--every", metavar="INTERVAL", help="Without COMMAND: print 'tick N' at every INTERVAL, until --count or DURATION."),
    count_spec: Optional[str] = typer.Option(None, "--count", metavar="N", help="With --every: stop after N ticks."),
    timeout_signal: str = typer.Option("TERM", "-s", "--signal", metavar="SIGNAL", help="With COMMAND: the signal sent at the deadline; 0 sends none (only --kill-after's KILL ends COMMAND)."),
    kill_after: Optional[str] = typer.Option(None, "-k", "--kill-after", metavar="DURATION", help="With COMMAND: also send KILL this long after the deadline signal."),
    preserve_status: bool = typer.Option(False, "--preserve-status", help="With COMMAND: exit with the command's status even after a timeout."),
    foreground: bool = typer.Option(False, "--foreground", help="With COMMAND: do not make a new process group (the command may use the terminal; its children are not signalled)."),
    verbose: bool = typer.Option(False, "-v", "--verbose", help="Say on stderr which signal is sent at a timeout."),
    ready_fd: Optional[str] = typer.Option(None, "--ready-fd", metavar="N", help="Without COMMAND: " + READY_FD_HELP[0].lower() + READY_FD_HELP[1:] + " Ready: the --until signal is blocked and the timer armed."),
    no_pdeathsig: bool = typer.Option(False, "--no-pdeathsig", help="With COMMAND: do not give it PR_SET_PDEATHSIG, so that it keeps running if alarm-wait is killed."),
    version: bool = version_option(PROG),
) -> int:
    """Wait for an alarm, or run COMMAND with a deadline: alarm-wait 10 -- make test."""
    from ..durations import parse_duration
    from ..integers import parse_count
    from ..signames import catchable, parse_signal

    argv = list(command or [])
    if argv[:1] == ["--"]:
        argv = argv[1:]  # 'alarm-wait 5 -- cmd': options stopped at DURATION, so -- came through
    if duration is None and every is None:
        raise UsageError("missing DURATION")
    seconds = parse_duration(duration) if duration is not None else 0.0
    count = parse_or_usage(parse_count, count_spec, "--count") if count_spec is not None else None

    if argv:
        if until is not None or every is not None or count is not None or ready_fd is not None:
            raise UsageError("--until, --every, --count and --ready-fd wait without a COMMAND")
        return _run_command(argv, seconds, parse_or_usage(_deadline_signal, timeout_signal, "--signal"),
                            parse_or_usage(parse_duration, kill_after, "--kill-after") if kill_after is not None else None,
                            preserve_status, foreground, verbose, not no_pdeathsig)
    if command:
        raise UsageError("missing COMMAND after --")
    if kill_after is not None or preserve_status or foreground or no_pdeathsig:
        raise UsageError("--kill-after, --preserve-status, --foreground and --no-pdeathsig need a COMMAND")
    until_signum = parse_or_usage(parse_signal, until, "--until") if until is not None else None
    if until_signum is not None and (not catchable(until_signum) or until_signum == signal.SIGALRM):
        raise UsageError(f"--until: {until} cannot be waited for")
    if count is not None and every is None:
        raise UsageError("--count needs --every")
    ready = ready_fd_or_usage(ready_fd)
    on_ready = None if ready is None else lambda: notify(ready)

    from ..deadlines import ALARM, COUNT, UNTIL, tick, wait_alarm
    from ..ready import notify

    if every is not None:
        interval = parse_or_usage(parse_duration, every, "--every")
        if interval <= 0:
            raise UsageError("--every: the interval must be more than 0")
        why = tick(interval, _print_tick, seconds=seconds, count=count, until=until_signum, on_ready=on_ready)
    else:
        why = wait_alarm(seconds, until=until_signum, on_ready=on_ready)
    if until_signum is not None and why == ALARM:
        return EXIT_TIMEOUT
    assert why in (ALARM, UNTIL, COUNT)
    return EXIT_OK


def _deadline_signal(text: str) -> int:
    from ..signames import parse_signal

    return parse_signal(text, allow_zero=True)  # as coreutils timeout -s 0


def _print_tick(number: int) -> None:
    # os.write, not sys.stdout: a failed write must not stay buffered, to
    # fail once more (a second message) when run() flushes at exit.
    try:
        os.write(1, f"tick {number}\n".encode())
    except BrokenPipeError:
        die_of_signal(signal.SIGPIPE)  # like yes | head: the reader is gone
    except OSError as exc:
        raise Die(f"write error: {exc.strerror}", EXIT_CANCELED) from None


def _run_command(argv: list[str], seconds: float, signum: int, kill_after: float | None, preserve_status: bool,
                 foreground: bool, verbose: bool, pdeathsig: bool) -> int:
    from ..deadlines import Deadline
    from ..errors import SpawnError
    from ..status import signal_name

    def on_send(sig: int, why: str) -> None:
        if verbose:
            warn(PROG, f"sending signal {signal_name(sig)[3:] if sig else 0} to command '{argv[0]}'")

    try:
        result = Deadline(argv, seconds, signum=signum, kill_after=kill_after, foreground=foreground,
                          on_send=on_send, subreaper=True,
                          parent_death_signal=(signum or signal.SIGKILL) if pdeathsig else None).run()
    except SpawnError as exc:
        raise Die(f"failed to run command '{argv[0]}': {exc.reason}", exc.exit_status) from None
    dead_of = result.exit.signal
    if dead_of is not None and not result.timed_out:
        import resource

        if result.exit.core_dumped:
            warn(PROG, "the monitored command dumped core")
        try:  # dying of SIGSEGV/SIGABRT ourselves must not leave a second core file
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        except (ValueError, OSError):
            pass
        if dead_of == signal.SIGKILL:  # no handler to reset: just the same death
            try:
                sys.stdout.flush()
            except (OSError, ValueError):
                pass
            os.kill(os.getpid(), signal.SIGKILL)
        die_of_signal(dead_of)
    return result.status(preserve_status)


def _negative_duration(args: list[str]) -> Optional[str]:
    """'-1' where DURATION goes: click would call it an unknown option."""
    takes_value = value_options(app, PROG)  # their value is never DURATION
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg in takes_value:
            skip = True
        elif _negative_looking(arg):
            return arg
        elif arg == "--" or not arg.startswith("-"):
            return None
    return None



def _negative_looking(arg: str) -> bool:
    """What parse_duration would call negative: re.match(r"-(?:[0-9.]|inf)",
    arg, re.IGNORECASE), without re (every run goes through here); that
    pattern's i also matches the Turkish dotted and dotless i."""
    return arg[:1] == "-" and (arg[1:2] != "" and arg[1:2] in "0123456789."
                               or arg[1:4].translate({0x130: "i", 0x131: "i"}).lower() == "inf")


def main() -> None:
    negative = _negative_duration(sys.argv[1:])
    if negative is not None:
        from ..durations import DurationProblem, InvalidDuration

        warn(PROG, str(InvalidDuration(negative, DurationProblem.NEGATIVE)))
        try_help(PROG)
        sys.exit(EXIT_CANCELED)
    run(app, PROG, usage=USAGE, usage_code=EXIT_CANCELED, failure_code=EXIT_CANCELED)
