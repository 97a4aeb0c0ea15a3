"""fifo-send: send messages into a FIFO, whole and never interleaved."""

from __future__ import annotations

TYPE_CHECKING = False  # typing costs start-up; the annotations are strings only Typer reads (App.build)
if TYPE_CHECKING:
    from typing import List, Optional

from . import _declare as typer  # typer.Option/Argument recorded; the real typer loads only when needed

from ..errors import UsageError
from ._cli import make_app, parse_or_usage, run, version_option
from ._fifo_common import FRAMING_HELP, Framing, KEEP_HELP, MODE_HELP, SAFE_PATH_TEXT, fifo_session

PROG = "fifo-send"
USAGE = "[OPTIONS] PATH [MESSAGE...]"

MANUAL = {
    "summary": "send messages into a FIFO, each one whole, never interleaved with other senders",
    "description": """
fifo-send writes each MESSAGE argument into the FIFO PATH as one message, or,
without MESSAGE arguments, every message read from stdin. The --framing is the
format of stdin as well as of what goes into the FIFO, the same as fifo-recv's
output, so fifo-recv ... | fifo-send ... relays messages. In line and nul
framing, a message that contains its own terminator is refused and nothing of
it is sent; a last line of stdin without its newline is still a message.

fifo-send waits for a reader (up to --timeout); with --no-wait it fails at once
when nobody has the FIFO open for reading.

Messages are atomic, whatever their size: any number of concurrent fifo-send
processes never interleave. Whole messages are gathered into writes of at most
PIPE_BUF (4096) bytes, which the kernel never splits, made under a shared
flock(2) on the FIFO; a larger message is written under an exclusive flock,
which the shared holders wait for, and only once the pipe can take it whole
(fifo-send grows the pipe up to /proc/sys/fs/pipe-max-size when the message is
bigger than the pipe), so that a deadline never leaves half of it behind.

--timeout covers the wait for a reader, for the lock, and for each write: when
it runs out, fifo-send exits 124 and no part of a message has been written.
SIGINT, SIGTERM and SIGHUP end fifo-send between messages, never inside one
(one that was ignored when it started, as under nohup, stays ignored). The one
exception: a message too large for the largest pipe is written as the reader
drains it, and a reader that stops in its middle for longer than --timeout, or
a stop signal then, cuts it (the error says so).

""" + SAFE_PATH_TEXT,
    "exit_status": [
        ("0", "Every message was written into the FIFO."),
        ("1", "No reader with --no-wait; the reader went away (the message says how many messages were delivered); PATH missing or not a FIFO; stdin ends inside a length frame."),
        ("2", "Usage error: a MESSAGE containing its terminator, a bad --mode or --timeout, an unknown option."),
        ("124", "--timeout ran out waiting for a reader, the lock or a write; nothing of the pending message was written."),
        ("128+N", "Stopped by signal N."),
    ],
    "examples": [
        ("fifo-send /tmp/q.fifo 'job 1' 'job 2'", "Send two messages, waiting for a reader to come."),
        ("seq 1000 | fifo-send --timeout 5 /tmp/q.fifo", "Send 1000 one-line messages; give up with 124 if no reader comes within 5 seconds."),
        ("find . -print0 | fifo-send --framing nul --no-wait /tmp/files.fifo", "Send file names NUL-terminated; fail at once if nobody reads."),
        ("fifo-recv --framing length /tmp/a | fifo-send --framing length /tmp/b", "Relay binary messages from one FIFO to another."),
    ],
    "notes": """
To report exactly how many messages were delivered when the reader goes away,
fifo-send counts the terminators of every batch it writes. It does that with a
small optional C helper (pyipc._speedups), built when pyipc is installed on a
machine with a C compiler, and otherwise with Python's bytes.count, which is
about ten times slower: on 10,000,000 short lines that is the difference
between about 0.7 and about 0.5 of cat's speed (bench/RESULTS.md). Setting
PYIPC_NO_SPEEDUPS=1 in the environment turns the helper off.

When stdin is a pipe and the input turns out to be a stream (a read fills the
whole buffer), fifo-send grows that pipe to 1 MiB (the default
/proc/sys/fs/pipe-max-size; it stays smaller if the system refuses), so
that its writer can run ahead instead of waking for every read.
""",
    "see_also": ["fifo-recv(1)", "mkfifo-cat(1)", "mkfifo(1)", "fifo(7)", "pipe(7)", "flock(2)"],
    "complete_args": ["file", "none"],
}

app = make_app("Send each MESSAGE (or each message of stdin) into the FIFO PATH, atomically.")



@app.command()
def fifo_send(
    path: str = typer.Argument(..., metavar="PATH", help="The FIFO to send into.", show_default=False),
    messages: Optional[List[str]] = typer.Argument(None, metavar="MESSAGE...", help="Messages to send; without them, read messages from stdin.", show_default=False),
    framing: Framing = typer.Option(Framing.line, "-f", "--framing", help=FRAMING_HELP),
    timeout: Optional[str] = typer.Option(None, "--timeout", metavar="DURATION", help="Exit 124 when no reader comes, or a write cannot complete, within DURATION; 0 means no deadline."),
    no_wait: bool = typer.Option(False, "--no-wait", help="Fail at once (exit 1) when nobody has the FIFO open for reading."),
    create: bool = typer.Option(False, "--create", help="Create PATH as a FIFO if it is missing."),
    mode: str = typer.Option("600", "-m", "--mode", metavar="MODE", help=MODE_HELP),
    keep: bool = typer.Option(False, "--keep", help=KEEP_HELP),
    version: bool = version_option(PROG),
) -> int:
    """Send each MESSAGE (or each message of stdin) into the FIFO PATH, atomically."""
    import os

    from ..durations import parse_duration
    from ..fifo import Sender, Waiter, open_fifo, parse_mode
    from ..framing import FramingError, frame

    bits = parse_or_usage(parse_mode, mode, "--mode")
    seconds = parse_or_usage(parse_duration, timeout, "--timeout") if timeout is not None else None
    kind = framing.value
    framed = None
    if messages:
        try:  # checked before anything is opened: a bad MESSAGE sends nothing at all
            framed = b"".join(frame(os.fsencode(m), kind) for m in messages)
        except FramingError as exc:
            raise UsageError(str(exc)) from None
    with fifo_session(path) as stop:
        waiter = Waiter(stop)
        with open_fifo(path, "w", create=create, mode=bits, keep=keep, wait=not no_wait,
                       timeout=seconds, waiter=waiter) as fifo:
            sender = Sender(fifo.fd, kind, waiter, timeout=seconds)
            if framed is not None:
                sender.send_framed(framed)
                return 0
            sender.send_from(0, stop)
    return 0


def main() -> None:
    run(app, PROG, usage=USAGE)
