"""What mkfifo-cat, fifo-send and fifo-recv share: the signal session and the
mapping of pyipc.fifo's exceptions to messages and exit codes."""

from __future__ import annotations

import os

TYPE_CHECKING = False  # typing costs start-up; type checkers read the annotations
if TYPE_CHECKING:
    from types import TracebackType

    from ..fifo import StopSignals

from .._signals import signal  # no enum import: see _signals
from ..errors import EXIT_FAILURE, EXIT_TIMEOUT, EXIT_USAGE
from ._cli import Die, die_of_signal


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


class fifo_session:  # noqa: N801 (used as a function: with fifo_session(path, prog) as stop)
    """``with fifo_session(path, prog) as stop``: catch SIGINT/SIGTERM/SIGHUP
    for the body (which must close its FIFO, removing one it created, before
    this exits); then die of the signal. Library errors become one line and
    their exit code. (A class: contextlib.contextmanager would import
    contextlib, with collections and functools, at every start.)"""

    def __init__(self, path: str, prog: str):
        self.path, self.prog = path, prog
        self._stop: StopSignals | None = None

    def __enter__(self) -> StopSignals:
        from ..fifo import StopSignals

        stop = StopSignals()
        try:
            stop.__enter__()
        except BaseException as exc:
            self._fail(exc)
            raise
        self._stop = stop
        return stop

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        from ..fifo import Interrupted

        signum = None
        if isinstance(exc, Interrupted):
            signum = exc.signum
        elif isinstance(exc, BrokenPipeError):
            signum = signal.SIGPIPE  # our stdout's reader went away: end as cat would
        assert self._stop is not None  # set by __enter__
        try:
            self._stop.__exit__(exc_type, exc, traceback)
        except BaseException as failed:
            self._fail(failed)
            raise
        if signum is not None:
            die_of_signal(signum)
        if exc is not None:
            self._fail(exc)  # anything else goes on as it is

    def _fail(self, exc: BaseException) -> None:
        """Raise Die for a library error; return for anything else."""
        from ..fifo import FifoError, FifoTimeout
        from ..framing import FramingError

        if isinstance(exc, FifoTimeout):
            raise Die(describe(exc, self.path, self.prog), EXIT_TIMEOUT) from None
        if isinstance(exc, FramingError):
            from ..framing import Problem

            usage = exc.problem in (Problem.TERMINATOR_INSIDE, Problem.TOO_LONG_FOR_HEADER)
            raise Die(describe(exc, self.path, self.prog), EXIT_USAGE if usage else EXIT_FAILURE) from None
        if isinstance(exc, (FifoError, OSError)):
            raise Die(describe(exc, self.path, self.prog), EXIT_FAILURE) from None
