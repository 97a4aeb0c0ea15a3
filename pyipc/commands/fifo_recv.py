"""fifo-recv: receive messages from a FIFO and print each as it arrives."""

from __future__ import annotations

TYPE_CHECKING = False  # typing costs start-up; the annotations are strings only Typer reads (App.build)
if TYPE_CHECKING:
    from typing import Literal, Optional

from . import _declare as typer  # typer.Option/Argument recorded; the real typer loads only when needed

from ._values import VALUES_TEXT
from ._cli import Die, make_app, parse_or_usage, run, version_option
from ._fifo_common import FRAMING_HELP, MAX_SIZE_HELP, MODE_HELP, SAFE_PATH_TEXT, fifo_session
from ._ready import READY_FD_HELP, ready_fd_or_usage

PROG = "fifo-recv"
USAGE = "[OPTIONS] PATH"

MANUAL = {
    "summary": "receive messages from a FIFO and print each one as it arrives",
    "description": """
fifo-recv reads messages from the FIFO PATH and prints each one as soon as it
has arrived whole, in the chosen --framing (the same format fifo-send reads, so
fifo-recv ... | fifo-send ... relays), until end-of-file: every writer has
closed, after at least one came. An empty message is a message. With --follow
it keeps receiving across writers, as mkfifo-cat does.

Any number of fifo-recv processes can receive from one FIFO at once: each
message goes to exactly one of them, whole, and each gets the messages of one
sender in the order they were sent. Receivers take turns under a lock on the
FIFO (flock(2), which senders never take): the one holding it looks at what is
queued without consuming it (tee(2)), finds where whole messages end, and takes
exactly those in one read(2). So a receiver killed at any moment, even by
SIGKILL, has taken a message whole or not at all, and never leaves part of one
to the next reader. The one exception is a message larger than the pipe can
hold, which can only be taken in pieces as its sender writes it: a receiver
killed in its middle loses it, and the next reader gets its tail as a message.

--count N exits after exactly N messages and consumes nothing beyond them: the
messages that follow stay in the FIFO for the next reader.

--json prints one JSON object per line and message: {"data": "..."}, or
{"data_b64": "..."} for a message that is not UTF-8.

--max-size bounds one message (16 MiB by default): a longer one is an error
(exit 1), so a writer that never ends its line cannot make fifo-recv use more
memory than that. The messages before it are taken and printed; a longer
message that is already whole in the FIFO is left there.

What a receiver has taken out of the FIFO is its own: one killed between
taking messages and writing them out loses them (with --count N, up to N).
fifo-recv checks that its stdout can be written before it takes anything, so
that a closed stdout never costs the queue a message; a write that fails
later (a full disk) loses what it was writing, and says so.

--timeout covers the wait for the first writer and then for each next message:
when it runs out, fifo-recv exits 124, having printed only whole messages.
SIGINT, SIGTERM and SIGHUP end it the same way; one that was ignored when it
started (nohup) stays ignored. With --follow, fifo-recv is a collector: on
SIGINT, SIGTERM or SIGHUP it first takes and prints every whole message already
in the FIFO (waiting for nothing more), then dies of the signal. A second
such signal ends that drain at once. One exception: the block of messages
that was being written to stdout when the first signal came, already taken out
of the FIFO, is written out whole first, however many signals follow, so that
no message is lost or printed twice; a stdout that never drains keeps
fifo-recv there (SIGKILL still ends it, losing that block).

A FIFO that fifo-recv created (--create) is removed when it ends, unless --keep
or while another process still has it open for reading (another worker, a
holder's exec 3<>q.fifo: taking its name away would split the queue in two); with --follow it is kept unless
--remove, as systemd keeps a socket unit's FIFO
(RemoveOnStop=no): a writer that comes after the collector stopped then waits
for the next collector, instead of writing a regular file where the FIFO was.
A path that no longer names the FIFO fifo-recv created is never removed.

--ready-fd N writes a newline to file descriptor N and closes it once the FIFO
is open for reading, so that a script can start writers without sleeping.

""" + SAFE_PATH_TEXT,
    "exit_status": [
        ("0", "End-of-file after every writer closed, or --count messages received."),
        ("1", "PATH missing or not a FIFO; end-of-file before --count messages; a length frame cut short; a message longer than --max-size."),
        ("2", "Usage error: a bad --count, --mode, --max-size, --ready-fd or --timeout, an unknown option."),
        ("124", "--timeout: no writer came, or no next message arrived, within DURATION."),
        ("128+N", "Stopped by signal N; 141 when stdout's reader went away."),
    ],
    "examples": [
        ("fifo-recv --create /tmp/q.fifo", "Make the FIFO, print every line its writers send until they are all gone, then remove it."),
        ("job=$(fifo-recv --count 1 --timeout 10 /tmp/q.fifo)", "Take exactly one message, leaving the others for the next reader; 124 after 10 idle seconds."),
        ("for w in 1 2 3; do (while job=$(fifo-recv -n 1 --timeout 2 q.fifo); do echo \"$w: $job\"; done) & done", "Three workers sharing one queue: every message goes to exactly one of them."),
        ("exec 3< <(fifo-recv --follow --ready-fd 4 --create log.fifo 4>&1 >>all.log); read -r -u 3", "Start a collector and wait until it is ready (no sleep), then let writers write to log.fifo."),
        ("fifo-recv -n 1 --timeout 5 reply.fifo & fifo-send request.fifo \"$request\"; wait", "Request/response over two FIFOs: listen for the reply before sending the request."),
        ("fifo-recv --follow --json /tmp/q.fifo", "Print every message as a JSON object, writer after writer."),
        ("fifo-recv --framing length /tmp/bin.fifo > messages.bin", "Receive binary-safe length-framed messages."),
    ],
    "notes": VALUES_TEXT,
    "see_also": ["fifo-send(1)", "mkfifo-cat(1)", "mkfifo(1)", "fifo(7)", "pipe(7)", "tee(2)", "flock(2)"],
    "complete_args": ["file"],
}

app = make_app("Receive messages from the FIFO PATH and print each one as it arrives.")



@app.command()
def fifo_recv(
    path: str = typer.Argument(..., metavar="PATH", help="The FIFO to receive from.", show_default=False),
    framing: Literal["line", "nul", "length"] = typer.Option("line", "-f", "--framing", help=FRAMING_HELP),
    count_spec: Optional[str] = typer.Option(None, "-n", "--count", metavar="N", help="Exit after exactly N messages, leaving what follows in the FIFO."),
    follow: bool = typer.Option(False, "--follow", help="Keep receiving across writers instead of stopping at end-of-file; on SIGINT, SIGTERM or SIGHUP, print what is queued first."),
    json_out: bool = typer.Option(False, "--json", help='Print one JSON object per message: {"data": ...}, or {"data_b64": ...} for bytes that are not UTF-8.'),
    timeout: Optional[str] = typer.Option(None, "--timeout", metavar="DURATION", help="Exit 124 when no writer comes, or no next message arrives, within DURATION; 0 means no deadline."),
    max_size: str = typer.Option("16M", "--max-size", metavar="SIZE", help=MAX_SIZE_HELP),
    ready_fd: Optional[str] = typer.Option(None, "--ready-fd", metavar="N", help=READY_FD_HELP),
    create: bool = typer.Option(False, "--create", help="Create PATH as a FIFO if it is missing."),
    mode: str = typer.Option("600", "-m", "--mode", metavar="MODE", help=MODE_HELP),
    keep: Optional[bool] = typer.Option(None, "--keep/--remove", help="Keep, or remove, a FIFO this command created when it ends (default: removed, but kept with --follow)."),
    version: bool = version_option(PROG),
) -> int:
    """Receive messages from the FIFO PATH and print each one as it arrives."""
    from ..durations import parse_duration
    from ..integers import parse_size
    from ..fifo import FifoReader, Interrupted, Waiter, check_writable, open_fifo, parse_mode, write_all
    from ..framing import split
    from ..integers import parse_count
    from ..ready import notify

    count = parse_or_usage(parse_count, count_spec, "--count") if count_spec is not None else None
    bits = parse_or_usage(parse_mode, mode, "--mode")
    limit = parse_or_usage(parse_size, max_size, "--max-size")
    seconds = parse_or_usage(parse_duration, timeout, "--timeout") if timeout is not None else None
    ready = ready_fd_or_usage(ready_fd)
    kind = framing
    received = 0
    with fifo_session(path, PROG) as stop:
        with open_fifo(path, "rw" if follow else "r", create=create, mode=bits,
                       keep=follow if keep is None else keep) as fifo:
            notify(ready)
            if count == 0:
                return 0  # PATH checked, nothing read
            check_writable(1)  # never take messages out of the queue that cannot be passed on
            with FifoReader(fifo.fd, kind, Waiter(stop), timeout=seconds, max_size=limit) as reader:
                def emit(block: bytes | memoryview, finish: bool) -> None:
                    # A collector finishes the block it took, even when told to stop.
                    if json_out:
                        block = b"".join(_as_json(message) for message in split(block, kind))
                    write_all(1, block, stop, finish=finish)

                try:
                    for block, taken in reader.blocks(count):
                        emit(block, follow)
                        received += taken or 0
                except Interrupted as exc:
                    if not follow:
                        raise
                    # A collector: print what is already queued, then go.
                    stop.acknowledge()
                    for block in reader.queued_blocks():
                        emit(block, False)  # a second stop signal ends even this
                    raise exc from None
    if count is not None and received < count:
        raise Die(f"end-of-file after {received} of {count} messages")
    return 0


def _as_json(message: bytes) -> bytes:
    import json

    try:
        record = {"data": message.decode("utf-8")}
    except UnicodeDecodeError:
        import base64

        record = {"data_b64": base64.b64encode(message).decode("ascii")}
    return (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")


def main() -> None:
    run(app, PROG, usage=USAGE)
