"""fifo-recv: receive messages from a FIFO and print each as it arrives."""

from __future__ import annotations

TYPE_CHECKING = False  # typing costs start-up; the annotations are strings only Typer reads (App.build)
if TYPE_CHECKING:
    from typing import Optional

from . import _declare as typer  # typer.Option/Argument recorded; the real typer loads only when needed

from ..errors import UsageError
from ._cli import Die, make_app, parse_or_usage, run, version_option
from ._fifo_common import FRAMING_HELP, Framing, KEEP_HELP, MODE_HELP, SAFE_PATH_TEXT, fifo_session

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

--count N exits after exactly N messages and consumes nothing beyond them: the
messages that follow stay in the FIFO for the next reader (fifo-recv reads line
and nul framed messages one byte at a time, and length framed ones by their
exact length, for that). Without --count, fifo-recv reads whole buffers and
does no per-message work unless --json asks for it.

--json prints one JSON object per line and message: {"data": "..."}, or
{"data_b64": "..."} for a message that is not UTF-8.

--timeout covers the wait for the first writer and then for each next message:
when it runs out, fifo-recv exits 124, having printed only whole messages.
SIGINT, SIGTERM and SIGHUP end it the same way; one that was ignored when it
started (nohup) stays ignored.

""" + SAFE_PATH_TEXT,
    "exit_status": [
        ("0", "End-of-file after every writer closed, or --count messages received."),
        ("1", "PATH missing or not a FIFO; end-of-file before --count messages; a length frame cut short."),
        ("2", "Usage error: a bad --count, --mode or --timeout, an unknown option."),
        ("124", "--timeout: no writer came, or no next message arrived, within DURATION."),
        ("128+N", "Stopped by signal N; 141 when stdout's reader went away."),
    ],
    "examples": [
        ("fifo-recv --create /tmp/q.fifo", "Make the FIFO, print every line its writers send until they are all gone, then remove it."),
        ("job=$(fifo-recv --count 1 --timeout 10 /tmp/q.fifo)", "Take exactly one message, leaving the others for the next reader; 124 after 10 idle seconds."),
        ("fifo-recv --follow --json /tmp/q.fifo", "Print every message as a JSON object, writer after writer."),
        ("fifo-recv --framing length /tmp/bin.fifo > messages.bin", "Receive binary-safe length-framed messages."),
    ],
    "see_also": ["fifo-send(1)", "mkfifo-cat(1)", "mkfifo(1)", "fifo(7)", "pipe(7)"],
    "complete_args": ["file"],
}

app = make_app("Receive messages from the FIFO PATH and print each one as it arrives.")



@app.command()
def fifo_recv(
    path: str = typer.Argument(..., metavar="PATH", help="The FIFO to receive from.", show_default=False),
    framing: Framing = typer.Option(Framing.line, "-f", "--framing", help=FRAMING_HELP),
    count: Optional[int] = typer.Option(None, "-n", "--count", metavar="N", help="Exit after exactly N messages, leaving what follows in the FIFO."),
    follow: bool = typer.Option(False, "--follow", help="Keep receiving across writers instead of stopping at end-of-file."),
    json_out: bool = typer.Option(False, "--json", help='Print one JSON object per message: {"data": ...}, or {"data_b64": ...} for bytes that are not UTF-8.'),
    timeout: Optional[str] = typer.Option(None, "--timeout", metavar="DURATION", help="Exit 124 when no writer comes, or no next message arrives, within DURATION; 0 means no deadline."),
    create: bool = typer.Option(False, "--create", help="Create PATH as a FIFO if it is missing."),
    mode: str = typer.Option("600", "-m", "--mode", metavar="MODE", help=MODE_HELP),
    keep: bool = typer.Option(False, "--keep", help=KEEP_HELP),
    version: bool = version_option(PROG),
) -> int:
    """Receive messages from the FIFO PATH and print each one as it arrives."""
    from ..durations import parse_duration
    from ..fifo import Receiver, Waiter, open_fifo, parse_mode, write_all
    from ..framing import frame

    if count is not None and count < 0:
        raise UsageError(f"--count: must be 0 or more, not {count}")
    bits = parse_or_usage(parse_mode, mode, "--mode")
    seconds = parse_or_usage(parse_duration, timeout, "--timeout") if timeout is not None else None
    kind = framing.value
    received = 0
    with fifo_session(path) as stop:
        with open_fifo(path, "rw" if follow else "r", create=create, mode=bits, keep=keep) as fifo:
            if count == 0:
                return 0  # PATH checked, nothing read
            receiver = Receiver(fifo.fd, kind, Waiter(stop), timeout=seconds)
            if count is None and not json_out:
                for block in receiver.blocks():  # the fast path: whole buffers, no per-message work
                    write_all(1, block, stop)
                return 0
            messages = receiver.exact_messages() if count is not None else receiver.messages()
            for message in messages:
                write_all(1, _as_json(message) if json_out else frame(message, kind), stop)
                received += 1
                if received == count:
                    return 0
    if count is not None:
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
