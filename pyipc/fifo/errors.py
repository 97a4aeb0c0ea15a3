"""What can go wrong on a FIFO channel, as data: the commands do the wording.

Each exception carries what happened (the path, how long was waited, how many
messages were read or are still unread); none holds a sentence for a terminal.
"""

from __future__ import annotations

from ..errors import PyipcError

TYPE_CHECKING = False  # type checkers take its branches; see Waited below

if TYPE_CHECKING:
    from .._enums import Waited as Waited
else:
    def __getattr__(name: str) -> object:
        if name == "Waited":
            return waited()
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def waited() -> type[Waited]:
    """Waited, made on first use: defining an enum costs start-up (pyipc._enums)."""
    from .._enums import Waited

    return Waited


class FifoError(PyipcError):
    """Base of the FIFO channel errors."""


class NotAFifo(FifoError):
    """PATH is something else (``kind``: 'a regular file', 'a directory'...);
    it was left exactly as it was."""

    def __init__(self, path: str, kind: str):
        super().__init__(path, kind)
        self.path, self.kind = path, kind


class FifoMissing(FifoError):
    """PATH does not exist. ``while_waiting``: it was there, and was removed
    while we waited for a reader."""

    def __init__(self, path: str, while_waiting: bool = False):
        super().__init__(path, while_waiting)
        self.path, self.while_waiting = path, while_waiting


class NoReader(FifoError):
    """--no-wait, and nobody has the FIFO open for reading."""

    def __init__(self, path: str):
        super().__init__(path)
        self.path = path


class FifoTimeout(FifoError):
    """A --timeout of ``seconds`` ran out while waiting for ``waited``.

    ``partial``: a message larger than the largest pipe had already been
    started, and is cut. ``unread_messages`` / ``unread_bytes``: for
    Waited.READ_OUT, what is still in the pipe (messages only when they can be
    told: see FifoWriter.unread)."""

    def __init__(self, waited: Waited, seconds: float, *, seen_data: bool = False, partial: bool = False,
                 unread_messages: int | None = None, unread_bytes: int = 0):
        super().__init__(waited, seconds)
        self.waited, self.seconds, self.seen_data, self.partial = waited, seconds, seen_data, partial
        self.unread_messages, self.unread_bytes = unread_messages, unread_bytes


class ReaderGone(FifoError):
    """The last reader closed the FIFO (EPIPE) while messages were being written.

    ``written``: messages fully written. ``unread_bytes``: bytes still in the
    pipe, never read. ``read``: messages readers took out, when that can be told
    exactly (every unread byte is ours: no other writer has the FIFO open);
    otherwise None."""

    def __init__(self, written: int, unread_bytes: int, read: int | None):
        super().__init__(written, unread_bytes, read)
        self.written, self.unread_bytes, self.read = written, unread_bytes, read


class StreamError(FifoError):
    """Reading stdin or writing stdout failed (not the FIFO): EBADF when it was
    closed, EIO, ENOSPC... ``stream`` is 'stdin' or 'stdout'."""

    def __init__(self, stream: str, errno: int, strerror: str):
        super().__init__(stream, errno, strerror)
        self.stream, self.errno, self.strerror = stream, errno, strerror

    @classmethod
    def from_oserror(cls, stream: str, exc: OSError) -> StreamError:
        """The error of a failed read or write (whose errno is always set)."""
        import os

        return cls(stream, exc.errno or 0, exc.strerror or os.strerror(exc.errno or 0))


class Interrupted(FifoError):
    """A stop signal (SIGINT, SIGTERM, SIGHUP) ended the wait or the transfer."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum
