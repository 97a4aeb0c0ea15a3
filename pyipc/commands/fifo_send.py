"""fifo-send: send messages into a FIFO, whole and never interleaved."""

from __future__ import annotations

TYPE_CHECKING = False  # typing costs start-up; the annotations are strings only Typer reads (App.build)
if TYPE_CHECKING:
    from typing import List, Literal, Optional

from . import _declare as typer  # typer.Option/Argument recorded; the real typer loads only when needed

from ._values import VALUES_TEXT
from ._cli import make_app, parse_or_usage, run, version_option
from ..errors import UsageError
from ._fifo_common import (FRAMING_HELP, KEEP_HELP, MAX_SIZE_HELP, MODE_HELP, SAFE_PATH_TEXT, describe,
                           fifo_session)

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
it is sent; a last line of stdin without its newline is still a message. A
message of stdin longer than --max-size is refused (exit 1): the ones before it
were sent, nothing of it or after it is.

fifo-send waits for a reader (up to --timeout); with --no-wait it fails at once
when nobody has the FIFO open for reading. With a --timeout of more than 0,
it also waits (up to that long) for PATH to appear, so that it can be started before the program that makes the
FIFO (mkfifo-cat PATH & then fifo-send --timeout 5 PATH cannot race).

By default fifo-send exits 0 only once readers have taken out of the FIFO
everything it wrote (the pipe's buffer is empty: FIONREAD), not merely once it
was written: a queue filled by fifo-send loses nothing when fifo-send would
otherwise have exited (the kernel drops what a FIFO holds once nobody has it
open), and the next fifo-recv --count 1 still gets the next message. With
--written it exits as soon as everything is in the FIFO, as plain writers do.
A pipe says only how much it holds, not how much was read, so fifo-send
counts down what was queued right after its last write (its own bytes and
any ahead of them) by the drops of the queue it sees, polling every few
milliseconds: other writers that keep the FIFO busy do not keep it waiting
once readers took its messages, though readers that fall behind writers that
write as fast as they read can (--timeout bounds that, or use --written).

Messages are atomic among fifo-send processes, whatever their size: concurrent
senders never interleave. Whole messages are gathered into writes of at most
PIPE_BUF (4096) bytes, which the kernel never splits, made under a shared lock
on the FIFO; a larger message is written under an exclusive lock, which waits
for every shared holder, in one write(2) once the pipe has room for all of it.
Against writers that are not fifo-send (echo, a program's own write), only
writes of at most PIPE_BUF bytes are atomic: theirs or ours, a longer message
can be cut by one of theirs.

The FIFO's buffer is grown in two cases only, each time up to
/proc/sys/fs/pipe-max-size (1 MiB by default; fifo-send never asks for more):
a message (with its framing) longer than the buffer, to hold that message;
and a stream on stdin, once one read of stdin fills fifo-send's 64 KiB input
buffer (more than 64 KiB was waiting), to 1 MiB, so that readers take large
batches. MESSAGE arguments and a few lines of stdin never change the FIFO.

--timeout covers the wait for PATH, for a reader, for the lock, for room for
each message and, unless --written, for readers to take the messages out (that
deadline restarts whenever they take something): when it runs out, fifo-send
exits 124 and no part of a message has been written; after the writes, it says
how many messages are still unread. SIGINT, SIGTERM and SIGHUP end fifo-send
between messages, never inside one (one that was ignored when it started, as
under nohup, stays ignored).

What a SIGKILL can leave: a message that fits the pipe is written by one
write(2), so a killed fifo-send has written it whole or not at all. A message
too large for the largest pipe is written as readers drain it: a reader that
stops in its middle for longer than --timeout, a stop signal then, or a SIGKILL
cuts it (the error says so, where there is one), and its readers get a cut
message.

""" + SAFE_PATH_TEXT,
    "exit_status": [
        ("0", "Every message was written into the FIFO and readers took everything out of it (with --written: every message was written)."),
        ("1", "No reader with --no-wait; the reader went away (the message says how many messages were read, or how many bytes were left unread); PATH missing or not a FIFO; stdin ends inside a length frame; a message longer than --max-size."),
        ("2", "Usage error: a MESSAGE containing its terminator, a bad --mode, --max-size or --timeout, an unknown option."),
        ("124", "--timeout ran out waiting for PATH, a reader, the lock, room for a message (nothing of it was written), or for readers to take out what was written (the message says how much is unread)."),
        ("128+N", "Stopped by signal N."),
    ],
    "examples": [
        ("fifo-send /tmp/q.fifo 'job 1' 'job 2'", "Send two messages, waiting for a reader to come and for the messages to be read."),
        ("seq 1000 | fifo-send --timeout 5 /tmp/q.fifo", "Send 1000 one-line messages; give up with 124 if no reader comes, or readers stop taking them, for 5 seconds."),
        ("seq 20 | fifo-send q.fifo & for w in 1 2 3; do (while job=$(fifo-recv -n 1 --timeout 1 q.fifo); do echo \"worker $w: $job\"; done) & done; wait", "A work queue: three workers take the 20 jobs one at a time, each job exactly once; the sender waits until all are taken."),
        ("find . -print0 | fifo-send --framing nul --no-wait --written /tmp/files.fifo", "Send file names NUL-terminated; fail at once if nobody reads; do not wait for them to be read."),
        ("fifo-recv --framing length /tmp/a | fifo-send --framing length /tmp/b", "Relay binary messages from one FIFO to another."),
    ],
    "notes": """
To report exactly how many messages were read when the reader goes away,
fifo-send counts the messages it writes and keeps the last pipe's worth of
bytes it wrote: the bytes still queued (FIONREAD) are the unread tail of what
it wrote, if no other writer has the FIFO open. With another writer present,
it reports the unread bytes instead. Counting uses a small optional C helper
(pyipc._speedups) when pyipc was installed with a C compiler, and Python's
bytes.count otherwise; PYIPC_NO_SPEEDUPS=1 turns the helper off.

A work queue that holds more than the pipe can (64 KiB by default) needs a
reader end open at all times: a write blocked on a full pipe fails with EPIPE
the moment the last reader closes, even if the next worker opens it a
millisecond later. Keep one open for the queue's life, for example with
exec 3<>q.fifo in the script that starts the workers.

When stdin is a pipe and the input turns out to be a stream (as above), fifo-send
also grows that pipe, its own stdin, to 1 MiB, so that its writer can run
ahead instead of waking for every read.
""" + VALUES_TEXT,
    "see_also": ["fifo-recv(1)", "mkfifo-cat(1)", "mkfifo(1)", "fifo(7)", "pipe(7)", "fcntl(2)"],
    "complete_args": ["file", "none"],
}

app = make_app("Send each MESSAGE (or each message of stdin) into the FIFO PATH, atomically.")



@app.command()
def fifo_send(
    path: str = typer.Argument(..., metavar="PATH", help="The FIFO to send into.", show_default=False),
    messages: Optional[List[str]] = typer.Argument(None, metavar="MESSAGE...", help="Messages to send; without them, read messages from stdin.", show_default=False),
    framing: Literal["line", "nul", "length"] = typer.Option("line", "-f", "--framing", help=FRAMING_HELP),
    timeout: Optional[str] = typer.Option(None, "--timeout", metavar="DURATION", help="Exit 124 when PATH does not appear, no reader comes, a write cannot complete, or readers take nothing out, within DURATION; 0 means no deadline."),
    no_wait: bool = typer.Option(False, "--no-wait", help="Fail at once (exit 1) when nobody has the FIFO open for reading."),
    written: bool = typer.Option(False, "--written", help="Exit 0 once every message is written into the FIFO, without waiting for readers to take them out."),
    max_size: str = typer.Option("16M", "--max-size", metavar="SIZE", help=MAX_SIZE_HELP),
    create: bool = typer.Option(False, "--create", help="Create PATH as a FIFO if it is missing."),
    mode: str = typer.Option("600", "-m", "--mode", metavar="MODE", help=MODE_HELP),
    keep: bool = typer.Option(False, "--keep", help=KEEP_HELP),
    version: bool = version_option(PROG),
) -> int:
    """Send each MESSAGE (or each message of stdin) into the FIFO PATH, atomically."""
    import os

    from ..durations import parse_duration
    from ..integers import parse_size
    from ..fifo import FifoWriter, Waiter, open_fifo, parse_mode
    from ..framing import FramingError, frame

    bits = parse_or_usage(parse_mode, mode, "--mode")
    limit = parse_or_usage(parse_size, max_size, "--max-size")
    seconds = parse_or_usage(parse_duration, timeout, "--timeout") if timeout is not None else None
    kind = framing
    framed = None
    if messages:
        try:  # checked before anything is opened: a bad MESSAGE sends nothing at all
            framed = b"".join(frame(os.fsencode(m), kind) for m in messages)
        except FramingError as exc:
            raise UsageError(describe(exc, path, PROG)) from None
    with fifo_session(path, PROG) as stop:
        waiter = Waiter(stop)
        with open_fifo(path, "w", create=create, mode=bits, keep=keep, wait=not no_wait,
                       timeout=seconds, waiter=waiter, await_path=True) as fifo:
            writer = FifoWriter(fifo.fd, kind, waiter, timeout=seconds, max_size=limit)
            if framed is not None:
                writer.send_framed(framed)
            else:
                writer.send_from(0, stop)
            if not written:
                writer.wait_read_out()
    return 0


def main() -> None:
    run(app, PROG, usage=USAGE)
