"""What mkfifo-cat, fifo-send and fifo-recv share: the signal session and the
mapping of pyipc.fifo's exceptions to messages and exit codes."""

from __future__ import annotations

import enum
import os
import signal
from contextlib import contextmanager

from ..errors import EXIT_FAILURE, EXIT_TIMEOUT
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


@contextmanager
def fifo_session(path: str):
    """Catch SIGINT/SIGTERM/SIGHUP for the body (which must close its FIFO,
    removing one it created, before this exits); then die of the signal.
    Library errors become one line and their exit code."""
    from ..fifo import Deadline, Interrupted, NoReader, NotAFifo, ReaderGone, StopSignals, StreamError
    from ..framing import FramingError

    signum = None
    try:
        with StopSignals() as stop:
            try:
                yield stop
            except Interrupted as exc:
                signum = exc.signum
            except BrokenPipeError:
                signum = signal.SIGPIPE  # our stdout's reader went away: end as cat would
    except Deadline as exc:
        raise Die(str(exc), EXIT_TIMEOUT) from None
    except (NotAFifo, NoReader, ReaderGone, FramingError, StreamError) as exc:
        raise Die(str(exc), EXIT_FAILURE) from None
    except FileNotFoundError as exc:
        if exc.filename is not None and os.fsdecode(exc.filename) == path and exc.strerror == os.strerror(2):
            raise Die(f"'{path}': No such FIFO (--create makes it)", EXIT_FAILURE) from None
        raise Die(f"'{os.fsdecode(exc.filename or path)}': {exc.strerror}", EXIT_FAILURE) from None
    except OSError as exc:
        raise Die(f"'{os.fsdecode(exc.filename or path)}': {exc.strerror}", EXIT_FAILURE) from None
    if signum is not None:
        die_of_signal(signum)


