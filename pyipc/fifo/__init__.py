"""FIFOs as dependable message channels, shared by any number of senders and
receivers: safe opening (opening), atomic sends and knowing they were read
(writer), exactly-once receives (reader), a raw collector (collector), the
locks that keep senders and receivers apart (locks), and the one place that
waits, wakes for stop signals and keeps deadlines (stop)."""

from __future__ import annotations

from ..framing import DEFAULT_MAX_SIZE, FramingError
from .collector import Collector
from .errors import FifoError, FifoMissing, FifoTimeout, Interrupted, NoReader, NotAFifo, ReaderGone, StreamError
from .opening import Fifo, kind_of, open_fifo, parse_mode, remove_if_same
from .reader import FifoReader, check_writable, write_all
from .stop import STOP_SIGNALS, StopSignals, Waiter, deadline_after
from .writer import FifoWriter

__all__ = [
    "DEFAULT_MAX_SIZE", "FramingError", "Problem", "Collector", "FifoError", "FifoMissing", "FifoTimeout",
    "Interrupted", "NoReader", "NotAFifo", "ReaderGone", "StreamError", "Waited", "Fifo", "kind_of", "open_fifo",
    "parse_mode", "remove_if_same", "FifoReader", "check_writable", "write_all", "STOP_SIGNALS", "StopSignals", "Waiter",
    "deadline_after", "FifoWriter",
]

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..framing import Problem as Problem
    from .errors import Waited as Waited
else:
    def __getattr__(name: str) -> object:
        """Problem and Waited, enums made on first use (pyipc._enums)."""
        if name == "Problem":
            from ..framing import _problems

            return _problems()
        if name == "Waited":
            from .errors import waited

            return waited()
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
