"""What mkfifo-cat, fifo-send and fifo-recv share: the signal session and the
mapping of pyipc.fifo's exceptions to messages and exit codes."""

from __future__ import annotations

import enum
import os
import signal
from contextlib import contextmanager

TYPE_CHECKING = False  # typing costs start-up; type checkers read the annotations
if TYPE_CHECKING:
    from typing import Iterator

    from ..fifo import StopSignals

from ..errors import EXIT_FAILURE, EXIT_TIMEOUT, EXIT_USAGE
from ._cli import Die, die_of_signal

class Framing(str, enum.Enum):
    """--framing: the same choices and meaning in fifo-send and fifo-recv."""

    line = "line"
    nul = "nul"
    length = "length"


FRAMING_HELP = "line: one message per line; nul: NUL-terminated; length: 4-byte big-endian length, then the bytes (binary-safe)."
MODE_HELP = "Permission bits (octal) of a FIFO this command creates, set with fchmod on the open FIFO."
SAFE_PATH_TEXT = """
PATH is opened without following symlinks and checked before use: anything but
a FIFO is refused and left as it is; a missing PATH is an error unless
--create, which makes it (mode 0600 or --mode) and removes it again at the end.
"""  # the last paragraph of fifo-send(1) and fifo-recv(1)
KEEP_HELP = "Leave a FIFO this command created in place when it ends (it is removed by default, on SIGINT, SIGTERM and SIGHUP too)."


MAX_SIZE_HELP = "The longest message taken, in bytes (suffix K, M or G for KiB, MiB, GiB); a longer one is an error (exit 1)."


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def describe(exc: Exception, path: str, prog: str) -> str:
    """The one line a FIFO command prints for a library error."""
    from ..fifo import (FifoMissing, FifoTimeout, NoReader, NotAFifo, Problem, ReaderGone, StreamError, Waited)
    from ..framing import FramingError

    if isinstance(exc, NotAFifo):
        return f"'{os.fsdecode(exc.path)}' is {exc.kind}, not a FIFO; left as it is"
    if isinstance(exc, FifoMissing):
        if exc.while_waiting:
            return f"'{os.fsdecode(exc.path)}': removed while waiting for a reader"
        return f"'{os.fsdecode(exc.path)}': No such FIFO (--create makes it)"
    if isinstance(exc, NoReader):
        return f"no reader: nobody has '{os.fsdecode(exc.path)}' open for reading"
    if isinstance(exc, StreamError):
        return f"reading stdin: {exc.strerror}" if exc.stream == "stdin" else f"write error: {exc.strerror}"
    if isinstance(exc, ReaderGone):
        if exc.read is not None:
            unread = exc.written - exc.read
            text = f"the reader went away (EPIPE) after {_plural(exc.read, 'message')} read"
            return text + (f"; {unread} written but unread" if unread else "")
        return (f"the reader went away (EPIPE) with {_plural(exc.unread_bytes, 'byte')} unread in the FIFO "
                f"({_plural(exc.written, 'message')} written; another writer has the FIFO open, so how many "
                "of the unread bytes are ours cannot be told)")
    if isinstance(exc, FramingError):
        if exc.problem is Problem.TERMINATOR_INSIDE:
            name = "a newline" if exc.framing == "line" else "a NUL byte"
            return f"message contains {name}, its own terminator in {exc.framing} framing; nothing of it was sent"
        if exc.problem is Problem.TOO_LONG_FOR_HEADER:
            return f"message of {exc.size} bytes is longer than length framing allows"
        if exc.problem is Problem.TOO_LARGE:
            size = f"more than {exc.limit}" if exc.at_least else str(exc.size)
            return f"a message of {size} bytes is longer than --max-size ({exc.limit} bytes)"
        if prog == "fifo-send":
            return f"the input ends inside a message ({exc.size} bytes of an incomplete length frame), which was dropped"
        return "the FIFO reached EOF inside a length frame: the last message was cut"
    if isinstance(exc, FifoTimeout):
        seconds = f"{exc.seconds:g}s"
        if exc.waited is Waited.PATH:
            return f"'{path}' did not appear within {seconds}"
        if exc.waited is Waited.READER:
            return f"no reader came within {seconds}"
        if exc.waited is Waited.LOCK:
            return f"could not lock the FIFO within {seconds} (another sender holds it)"
        if exc.waited is Waited.ROOM:
            if exc.partial:
                return (f"the reader stopped reading for {seconds} in the middle of a message larger than the pipe "
                        "can hold; that message was cut")
            return f"the reader took nothing for {seconds}; nothing of the next message was written"
        if exc.waited is Waited.READ_OUT:
            if exc.unread_messages is not None:
                what = _plural(exc.unread_messages, "message")
                return f"{what} still unread: readers took nothing for {seconds}"
            return (f"{_plural(exc.unread_bytes, 'byte')} still unread in the FIFO: readers took nothing for {seconds} "
                    "(another writer has it open, so how many messages are ours cannot be told)")
        if exc.waited is Waited.WRITER:
            return f"no writer came within {seconds}"
        if exc.waited is Waited.MESSAGE:
            return f"no message arrived within {seconds}"
        return f"nothing arrived within {seconds}"
    if isinstance(exc, OSError):
        return f"'{os.fsdecode(exc.filename or path)}': {exc.strerror}"
    raise TypeError(exc)


@contextmanager
def fifo_session(path: str, prog: str) -> Iterator[StopSignals]:
    """Catch SIGINT/SIGTERM/SIGHUP for the body (which must close its FIFO,
    removing one it created, before this exits); then die of the signal.
    Library errors become one line and their exit code."""
    from ..fifo import FifoError, FifoTimeout, Interrupted, StopSignals
    from ..framing import FramingError, Problem

    signum = None
    try:
        with StopSignals() as stop:
            try:
                yield stop
            except Interrupted as exc:
                signum = exc.signum
            except BrokenPipeError:
                signum = signal.SIGPIPE  # our stdout's reader went away: end as cat would
    except FifoTimeout as exc:
        raise Die(describe(exc, path, prog), EXIT_TIMEOUT) from None
    except FramingError as exc:
        code = EXIT_USAGE if exc.problem in (Problem.TERMINATOR_INSIDE, Problem.TOO_LONG_FOR_HEADER) else EXIT_FAILURE
        raise Die(describe(exc, path, prog), code) from None
    except (FifoError, OSError) as exc:
        raise Die(describe(exc, path, prog), EXIT_FAILURE) from None
    if signum is not None:
        die_of_signal(signum)
