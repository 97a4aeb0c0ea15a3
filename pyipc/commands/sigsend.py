"""sigsend: send a signal to pids and process groups, unambiguously; optionally wait for them to go."""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # typing costs start-up; the annotations are strings only Typer reads (App.build)
if TYPE_CHECKING:
    from typing import List, Optional

    from ..sending import BadPidfile

from . import _declare as typer  # typer.Option/Argument recorded; the real typer loads only when needed

from ..errors import EXIT_FAILURE, EXIT_OK, EXIT_SOME_FAILED, EXIT_TIMEOUT, EXIT_USAGE, UsageError
from ._cli import Die, make_app, parse_or_usage, run, try_help, value_options, version_option, warn
from ._values import VALUES_TEXT

PROG = "sigsend"
USAGE = "[OPTIONS] [-s] SIGNAL TARGET... | -l [N]"

MANUAL = {
    "summary": "send a signal to processes or process groups, and optionally wait for them to exit",
    "description": """
sigsend sends SIGNAL to every TARGET with kill(2). SIGNAL is a name with or
without SIG, in any case (TERM, SIGTERM, sigterm), a number (15), a real-time
signal (RTMIN, RTMIN+3, RTMAX-1), or 0, which sends nothing and only checks
that each target exists and may be signalled.

A TARGET is an integer and nothing else: a pid; 0 for sigsend's own process
group; -PGID for process group PGID, written after -- so that it is not taken
for an option; -1 for every process you may signal, which is refused unless
--all is given. Unlike procps kill, nothing is ever reinterpreted: a TARGET
that is not an integer, or a signal number the system does not have (65, 100,
RTMAX+1), is a usage error and nothing is sent. --pidfile FILE adds the pid
written on the first line of FILE, which must be a regular file (it is
opened without blocking: a FIFO or a terminal is refused at once).

As in util-linux kill, the signal may also be given with -s SIGNAL or
--signal SIGNAL; every argument is then a TARGET (sigsend -s TERM 4321). A
signal written with a dash (-9, -TERM, the old kill form) or a -PGID before
-- is refused, and the message shows the command written the way sigsend
takes it (sigsend 9 4321, sigsend TERM -- -4321; -- -1 with --all for every
process).

With --wait DURATION, sigsend then waits until every target has exited. Each
pid target is held by a pidfd opened before the signal is sent, so a pid that
is reused by a new process after the target died is never mistaken for the
target. A process group is gone when it has no member left but zombies.
--escalate SIGNAL sends SIGNAL to the targets still there when DURATION runs
out, saying so on stderr for each one (as coreutils timeout -v says what it
sends), then waits up to DURATION again.

When a target is sigsend's own process group (0, or -PGID of that group), the
signal reaches sigsend too: sigsend blocks it first, so that it lives to report
and to wait. That group usually holds the shell or script that ran sigsend, so
--wait on it waits for that shell as well (sigsend itself does not count), and
ends in 124 unless the signal ends the shell too.

-l lists every signal as NUMBER NAME, real-time signals included. -l N names
signal N, and also decodes a shell status 128+N (sigsend -l 143 prints TERM);
-l NAME prints the number of a signal.
""",
    "exit_status": [
        ("0", "Every target was signalled (and, with --wait, is gone)."),
        ("1", "No target could be signalled, or a --pidfile cannot be read, is not a regular file or holds no pid (then nothing is sent)."),
        ("2", "Usage error: unknown signal (the valid names are listed), a signal number out of range, a TARGET that is not an integer, -1 without --all, an unknown option."),
        ("64", "Some targets were signalled and others could not be."),
        ("124", "With --wait: some targets were still running at the end."),
    ],
    "examples": [
        ("sigsend TERM 4321", "Ask process 4321 to terminate."),
        ("sigsend -- TERM -4321", "Signal every process of process group 4321 (after --, -4321 is a group, never an option)."),
        ("sigsend --wait 5 --escalate KILL TERM 4321", "Terminate 4321, wait up to 5 seconds for it to exit, then KILL it if it is still there and wait again."),
        ("sigsend 0 --pidfile /run/nginx.pid", "Exit 0 if the process named in the pidfile exists and may be signalled."),
        ("sigsend --queue 42 RTMIN+1 4321", "Send SIGRTMIN+1 with the value 42 (sigqueue(3)); the receiver finds it in si_value."),
        ("sigsend -l 137", "Prints KILL: the signal behind a shell status of 137."),
    ],
    "notes": VALUES_TEXT,
    "see_also": ["kill(1)", "kill(2)", "sigqueue(3)", "pidfd_open(2)", "signal(7)", "alarm-wait(1)"],
    "complete_args": ["signal", "pid"],
}

app = make_app("Send SIGNAL to every TARGET (a pid, 0, or -PGID after --).")



@app.command()
def sigsend(
    signal_spec: Optional[str] = typer.Argument(None, metavar="SIGNAL", help="Name (TERM, SIGTERM, sigterm), number, RTMIN+N, RTMAX-N, or 0 to only check.", show_default=False),
    target_specs: Optional[List[str]] = typer.Argument(None, metavar="TARGET...", help="A pid; 0 for our own process group; -PGID after -- for a process group; -1 (with --all) for every process.", show_default=False),
    list_signals: bool = typer.Option(False, "-l", "--list", help="List every signal as NUMBER NAME; with an argument N, name signal N (or shell status 128+N)."),
    pidfiles: Optional[List[str]] = typer.Option(None, "--pidfile", metavar="FILE", help="Also signal the pid written in FILE (repeatable)."),
    everyone: bool = typer.Option(False, "--all", help="Allow the target -1, every process you may signal."),
    queue: Optional[str] = typer.Option(None, "--queue", metavar="VALUE", help="Send with sigqueue(3) and this integer value; pid targets only."),
    wait: Optional[str] = typer.Option(None, "--wait", metavar="DURATION", help="After sending, wait up to DURATION until every target has exited."),
    signal_opt: Optional[str] = typer.Option(None, "-s", "--signal", metavar="SIGNAL", help="The signal, as util-linux kill -s takes it; every argument is then a TARGET."),
    escalate: Optional[str] = typer.Option(None, "--escalate", metavar="SIGNAL", help="With --wait: send SIGNAL to the targets left at the end of DURATION, then wait DURATION again."),
    version: bool = version_option(PROG),
) -> int:
    """Send SIGNAL to every TARGET: sigsend TERM 4321, sigsend -- INT -77."""
    from ..signames import list_signals as all_signals, lookup, parse_signal, signal_name

    if signal_opt is not None:  # kill -s SIG PID...: every argument is a target
        if list_signals:
            raise UsageError("-l and --signal cannot be used together")
        target_specs = ([signal_spec] if signal_spec is not None else []) + list(target_specs or [])
        signal_spec = signal_opt
    if list_signals:
        if target_specs or pidfiles:
            raise UsageError("-l takes at most one argument and no targets")
        lines = [lookup(signal_spec)] if signal_spec is not None else [f"{n} {name}" for n, name in all_signals()]
        sys.stdout.write("\n".join(lines) + "\n")
        return EXIT_OK

    from ..durations import parse_duration
    from ..sending import EVERYONE, BadPidfile, Sender, errno_text, parse_target, read_pidfile

    if signal_spec is None:
        raise UsageError("missing SIGNAL and TARGET")
    signum = parse_signal(signal_spec, allow_zero=True)
    targets = [parse_target(text) for text in target_specs or []]
    if not targets and not pidfiles:
        raise UsageError("missing TARGET")
    if any(t.pid == EVERYONE for t in targets) and not everyone:
        raise UsageError("refusing to signal -1 (every process you may signal) without --all")
    value = _queue_value(queue) if queue is not None else None
    if value is not None and any(t.pid <= 0 for t in targets):
        raise UsageError("--queue sends to single processes only, not to 0, -PGID or -1")
    seconds = parse_or_usage(parse_duration, wait, "--wait") if wait is not None else None
    if escalate is not None and seconds is None:
        raise UsageError("--escalate needs --wait")
    escalation = parse_or_usage(parse_signal, escalate, "--escalate") if escalate is not None else None
    if seconds is not None and any(t.pid == EVERYONE for t in targets):
        raise UsageError("--wait cannot wait for -1, every process")

    for path in pidfiles or []:  # all read before anything is sent
        try:
            targets.append(read_pidfile(path))
        except OSError as exc:
            raise Die(f"cannot read pidfile '{path}': {exc.strerror}", EXIT_FAILURE) from None
        except BadPidfile as exc:
            raise Die(_pidfile_problem(exc), EXIT_FAILURE) from None

    sender = Sender(targets, signum, queue_value=value, waiting=seconds is not None)
    try:
        sender.prepare()
        sender.send()
        for target in sender.failed:
            action = f"send {signal_name(signum)[3:]} to" if signum else "signal"
            assert target.error is not None  # for type checkers: the failed targets are those with an error
            warn(PROG, f"cannot {action} {target.describe()}: {errno_text(target.error)}")
        survivors = []
        if seconds is not None and sender.sent:
            survivors = sender.wait(seconds)
            if survivors and escalation is not None:
                for target in survivors:  # as timeout -v says what it sends at the deadline
                    warn(PROG, f"{target.describe()} is still running after --wait {wait}: "
                               f"sending {signal_name(escalation)[3:]}")
                sender.send(escalation, only_survivors=True)
                survivors = sender.wait(seconds)
            for target in survivors:
                warn(PROG, f"{target.describe()} is still running after --wait {wait}"
                           + (f" and --escalate {escalate}" if escalation is not None else ""))
    finally:
        sender.close()
    if not sender.sent:
        return EXIT_FAILURE
    if survivors:
        return EXIT_TIMEOUT
    return EXIT_SOME_FAILED if sender.failed else EXIT_OK


def _queue_value(text: str) -> int:
    from ..integers import parse_int

    return parse_or_usage(lambda t: parse_int(t, "value", -(2**31), 2**31 - 1), text, "--queue")


def _pidfile_problem(exc: BadPidfile) -> str:
    if exc.file_kind is not None:
        return f"pidfile '{exc.path}' is {exc.file_kind}, not a regular file"
    shown = exc.found.decode("utf-8", "replace")
    return f"pidfile '{exc.path}' holds no pid" + (f" (found '{shown}')" if shown else " (empty)")


def _stray_dash_hint(args: list[str]) -> Optional[str]:
    """For a -9, -TERM or -4321 before --, which procps kill would have
    guessed at (kill -100 signals everyone), the message refusing it: what
    the word would mean here, written the way sigsend takes it."""
    from ..integers import ascii_digits
    from ..signames import parse_signal

    takes_value = value_options(app, PROG)  # so that a value like --queue -5 is not taken for a stray option

    def looks_like_name(text: str) -> bool:  # [A-Za-z][A-Za-z0-9+-]*, without re (a trivial run goes through here)
        rest = text[1:].replace("+", "").replace("-", "")
        return text.isascii() and text[:1].isalpha() and (not rest or rest.isalnum())

    def is_signal(text: str) -> bool:
        try:
            parse_signal(text, allow_zero=True)
            return True
        except UsageError:
            return False

    options: list[str] = []
    words: list[str] = []  # the positional words, the stray one included
    stray, signal_given = None, False
    rest = iter(args)
    for arg in rest:
        if arg == "--":
            words += list(rest)
            break
        if arg in takes_value:
            options += [arg, next(rest, "")]
            signal_given = signal_given or arg in ("-s", "--signal")
        elif arg[:1] == "-" and (ascii_digits(arg[1:]) or (looks_like_name(arg[1:]) and is_signal(arg[1:])
                                                           and not (arg.startswith("-s") and is_signal(arg[2:])))):
            stray = stray or (arg, len(words))
            words.append(arg)
        elif arg.startswith("-") and arg != "-":
            options.append(arg)  # another option (click judges it), or -sTERM, --signal=TERM
            signal_given = signal_given or arg.startswith(("--signal=", "-s"))
        else:
            words.append(arg)
    if stray is None:
        return None
    word, index = stray
    bare = word[1:]
    in_signal_place = index == 0 and not signal_given

    def command(options: list[str], signal: list[str], targets: list[str]) -> str:
        import shlex

        dashed = any(t.startswith("-") for t in targets)
        return "sigsend " + shlex.join(options + signal + (["--"] if dashed else []) + targets)

    fixed: str | None
    if in_signal_place and is_signal(bare):
        why = "a signal is written without a dash"
        fixed = command(options, [bare], words[1:])
    elif in_signal_place:
        why = "a process group is written after the SIGNAL and --"
        fixed = command(options, ["SIGNAL"], words)
    elif not ascii_digits(bare):  # a signal name among the targets
        why = "a signal is written once, without a dash, before the targets"
        fixed = None if signal_given or is_signal(words[0]) else \
            command(options, [bare], [w for w in words if w != word])
    else:
        signal, targets = ([], words) if signal_given else (words[:1], words[1:])
        if bare == "1":
            why = "-1, every process you may signal, is written after -- and needs --all"
            fixed = command(([] if "--all" in options else ["--all"]) + options, signal, targets)
        else:
            why = "a process group is written after --"
            fixed = command(options, signal, targets)
    return f"no such option: {word} ({why}" + (f": {fixed})" if fixed else ")")


def main() -> None:
    hint = _stray_dash_hint(sys.argv[1:])
    if hint is not None:
        warn(PROG, hint)
        try_help(PROG)
        sys.exit(EXIT_USAGE)
    run(app, PROG, usage=USAGE)
