"""mkfifo-cat: the classic FIFO server, copying what every writer sends to stdout."""

from __future__ import annotations

TYPE_CHECKING = False  # typing costs start-up; the annotations are strings only Typer reads (App.build)
if TYPE_CHECKING:
    from typing import Optional

from . import _declare as typer  # typer.Option/Argument recorded; the real typer loads only when needed

from ._values import VALUES_TEXT
from ._cli import make_app, parse_or_usage, run, version_option
from ._fifo_common import MODE_HELP, fifo_session
from ._ready import READY_FD_HELP, ready_fd_or_usage

PROG = "mkfifo-cat"
USAGE = "[OPTIONS] PATH"

MANUAL = {
    "summary": "create a FIFO and copy everything its writers send to stdout",
    "description": """
mkfifo-cat makes the FIFO PATH if it is missing (mode 0600, or --mode), or uses
the FIFO that is there, leaving its mode alone, and copies everything any
writer sends to stdout as it arrives, across any number of successive writers:
it holds the FIFO open for reading and writing, so it never sees end-of-file
between two writers. It runs until a signal stops it, or with --once until the
first end-of-file (every writer has closed, after at least one came).

The bytes pass through untouched and unlooked-at, with splice(2) where stdout
allows it (a pipe, a file, /dev/null) and read/write otherwise, so bulk data
goes about as fast as with cat. mkfifo-cat is meant to be the FIFO's only
reader: it knows nothing of messages, and shares nothing with fifo-recv's
receivers.

On SIGINT, SIGTERM or SIGHUP, mkfifo-cat first copies to stdout everything
already in the FIFO (what writers wrote and perhaps exited after: the kernel
would drop it with the last open end), waiting for nothing more but room in
stdout (a second signal stops even that), then dies of the signal. A writer
that writes after that gets EPIPE, or waits for the next reader.

PATH is opened without following symlinks and checked before use: a regular
file, a directory, a symlink, a socket or a device at PATH is refused and left
exactly as it is. The FIFO stays in place when mkfifo-cat ends, as systemd
keeps a socket unit's FIFO (RemoveOnStop=no): a writer that comes later waits
for the next mkfifo-cat instead of creating a regular file at PATH (which a
shell's > would do if the FIFO were gone). --remove removes a FIFO mkfifo-cat
created when it ends, on those signals too, unless another process still has
it open for reading; a path that no longer names the FIFO it created is never
removed. A signal that was ignored when mkfifo-cat started
(nohup) stays ignored.

--ready-fd N writes a newline to file descriptor N and closes it once the FIFO
is open, so that a script can start its writers without sleeping.
""",
    "exit_status": [
        ("0", "With --once: the first writer(s) closed and everything was copied."),
        ("1", "PATH is not a FIFO, or cannot be created or opened."),
        ("2", "Usage error: a bad --mode, --ready-fd or --timeout, an unknown option."),
        ("124", "--timeout: nothing arrived for that long."),
        ("128+N", "Stopped by signal N (130 for SIGINT, 143 for SIGTERM), after copying what was queued; 141 when stdout's reader went away."),
    ],
    "examples": [
        ("mkfifo-cat /tmp/log.fifo >> all.log &", "Collect what any number of programs write to /tmp/log.fifo into all.log."),
        ("exec 3< <(mkfifo-cat --ready-fd 4 /tmp/log.fifo 4>&1 >>all.log); read -r -u 3", "The same, waiting until the FIFO is ready before going on: no sleep, no race."),
        ("mkfifo-cat --once --remove --mode 644 /tmp/in.fifo | wc -c", "Count the bytes of the first writer(s), then exit and remove the FIFO."),
        ("mkfifo-cat --timeout 30s /tmp/q.fifo", "Stop with status 124 once nothing has arrived for 30 seconds."),
    ],
    "notes": VALUES_TEXT,
    "see_also": ["fifo-send(1)", "fifo-recv(1)", "mkfifo(1)", "cat(1)", "fifo(7)", "splice(2)"],
    "complete_args": ["file"],
}

app = make_app("Create the FIFO PATH if missing and copy everything its writers send to stdout.")


@app.command()
def mkfifo_cat(
    path: str = typer.Argument(..., metavar="PATH", help="The FIFO to serve; created if missing.", show_default=False),
    mode: str = typer.Option("600", "-m", "--mode", metavar="MODE", help=MODE_HELP),
    keep: bool = typer.Option(True, "--keep/--remove", help="Keep (the default), or remove, a FIFO mkfifo-cat created when it ends."),
    once: bool = typer.Option(False, "--once", help="Stop at the first end-of-file (every writer closed) instead of serving writer after writer."),
    timeout: Optional[str] = typer.Option(None, "--timeout", metavar="DURATION", help="Exit 124 when nothing arrives for DURATION (seconds, or with unit s/m/h/d); 0 means no deadline."),
    ready_fd: Optional[str] = typer.Option(None, "--ready-fd", metavar="N", help=READY_FD_HELP),
    version: bool = version_option(PROG),
) -> int:
    """Create the FIFO PATH if missing and copy everything its writers send to stdout."""
    from ..durations import parse_duration
    from ..fifo import Collector, Interrupted, Waiter, open_fifo, parse_mode
    from ..ready import notify

    bits = parse_or_usage(parse_mode, mode, "--mode")
    seconds = parse_or_usage(parse_duration, timeout, "--timeout") if timeout is not None else None
    ready = ready_fd_or_usage(ready_fd)
    with fifo_session(path, PROG) as stop:
        # --once reads only, so that EOF comes when the writers are gone;
        # otherwise our own write end keeps EOF away between writers.
        with open_fifo(path, "r" if once else "rw", create=True, mode=bits, keep=keep) as fifo:
            notify(ready)
            collector = Collector(fifo.fd, 1, Waiter(stop), timeout=seconds)
            try:
                collector.run()
            except Interrupted:
                stop.acknowledge()  # a second stop signal interrupts the drain
                collector.drain()
                raise
    return 0


def main() -> None:
    run(app, PROG, usage=USAGE)
