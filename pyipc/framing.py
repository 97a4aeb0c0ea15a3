"""Messages on a byte stream: ``line`` (LF-terminated), ``nul`` (NUL-terminated)
and ``length`` (4-byte big-endian length, then the bytes: binary-safe).

Everything here works on whole buffers, not on one message at a time, unless
the caller asks for messages: the bulk paths of fifo-send and fifo-recv only
look for the last terminator of a buffer (``bytes.rfind``, in C), so streaming
millions of short lines costs a few Python steps per buffer.
"""

from __future__ import annotations

from .errors import PyipcError, UsageError

TYPE_CHECKING = False  # typing costs start-up; type checkers read the annotations
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    Buffer = bytes | bytearray
    Counter = Callable[[Buffer, int, int, int], int]

PIPE_BUF = 4096  # POSIX minimum is 512; Linux's, the size of an atomic pipe write
FRAMINGS = ("line", "nul", "length")
TERMINATORS = {"line": b"\n", "nul": b"\0"}
HEADER = 4
MAX_LENGTH = 2**32 - 1
DEFAULT_MAX_SIZE = 16 << 20  # --max-size: one message held in memory at most


def _python_count(buf: Buffer, byte: int, start: int, end: int) -> int:
    return buf.count(bytes((byte,)), start, end)


def _choose_count() -> Counter:
    """pyipc._speedups.count when that optional C extension was built and
    PYIPC_NO_SPEEDUPS is not set; else bytes.count. Chosen once, on first use."""
    global _count
    import os

    chosen: Counter = _python_count
    if not os.environ.get("PYIPC_NO_SPEEDUPS"):
        try:
            from ._speedups import count as chosen
        except ImportError:
            pass
    _count = chosen
    return chosen


_count: Counter | None = None


def count_terminators(buf: Buffer, term: bytes, start: int = 0, end: int | None = None) -> int:
    """How many messages end in buf[start:end], for line and nul framing:
    buf.count(term, start, end), about four times faster when the optional
    C helper is installed (CPython 3.11's bytes.count branches on every match)."""
    return (_count or _choose_count())(buf, term[0], start, len(buf) if end is None else end)


if TYPE_CHECKING:
    from ._enums import FramingProblem

    Problem = FramingProblem
else:
    def __getattr__(name: str) -> object:
        if name == "Problem":
            return _problems()
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _problems() -> type[Problem]:
    """Problem, made on first use: defining an enum costs start-up (pyipc._enums)."""
    from ._enums import FramingProblem

    return FramingProblem


class FramingError(PyipcError, ValueError):
    """Bytes that are not a valid message in the chosen framing. ``problem``
    says which; ``framing`` is the framing; ``size`` the message's length (for
    CUT_FRAME, the bytes of the cut frame; for TOO_LARGE, a lower bound when
    ``at_least``); ``limit`` the bound that was passed (TOO_LARGE)."""

    def __init__(self, problem: Problem, framing: str, size: int, limit: int = 0, at_least: bool = False):
        super().__init__(problem, framing, size)
        self.problem, self.framing, self.size, self.limit, self.at_least = problem, framing, size, limit, at_least


def too_large(framing: str, size: int, limit: int, at_least: bool) -> FramingError:
    return FramingError(_problems().TOO_LARGE, framing, size, limit, at_least)


def check_framing(framing: str) -> str:
    if framing not in FRAMINGS:
        raise UsageError(f"unknown framing '{framing}' (choose line, nul or length)")
    return framing


def frame(message: bytes, framing: str) -> bytes:
    """One message, framed; FramingError if it cannot be framed whole."""
    term = TERMINATORS.get(framing)
    if term is None:
        if len(message) > MAX_LENGTH:
            raise FramingError(_problems().TOO_LONG_FOR_HEADER, framing, len(message))
        return len(message).to_bytes(HEADER, "big") + message
    if term in message:
        raise FramingError(_problems().TERMINATOR_INSIDE, framing, len(message))
    return message + term


def complete_end(buf: bytes | bytearray, framing: str, start: int = 0, end: int | None = None) -> int:
    """Offset just past the last whole message in buf[start:end] (start if none)."""
    size = len(buf) if end is None else end
    term = TERMINATORS.get(framing)
    if term is not None:
        cut = buf.rfind(term, start, size)
        return start if cut < 0 else cut + 1
    pos = start
    while size - pos >= HEADER:
        stop = pos + HEADER + int.from_bytes(buf[pos:pos + HEADER], "big")
        if stop > size:
            break
        pos = stop
    return pos


def finish(rest: bytes | bytearray, framing: str) -> bytes:
    """What to make of bytes left after the last terminator when the stream
    ends: a last line without its newline is still a message; a cut length
    frame is an error."""
    if not rest:
        return b""
    term = TERMINATORS.get(framing)
    if term is None:
        raise FramingError(_problems().CUT_FRAME, framing, len(rest))
    return bytes(rest) + term


READ_SIZE = 1 << 16  # larger reads of a pipe measured slower (and a bytes result that large is mmap'ed anew each time)


def runs(read_into: Callable[[memoryview], int], framing: str, readsize: int = READ_SIZE,
         max_size: int | None = None) -> Iterator[tuple[bytearray, int]]:
    """Read a stream of framed messages and yield (buf, end) as it arrives:
    buf[:end] holds the whole messages not yielded before. buf is one buffer,
    reused: its contents are valid until the next step. read_into(room) fills
    a memoryview of at most readsize bytes and returns the count (0 at EOF).
    At EOF, a last line or NUL record without its terminator is yielded as a
    message (with the terminator added); EOF inside a length frame raises
    FramingError. No per-message work for line and nul framing: one rfind
    over the bytes just read. max_size: FramingError (TOO_LARGE) as soon as
    one message is known to be longer, so that memory stays bounded."""
    term = TERMINATORS.get(framing)
    buf = bytearray(2 * readsize)
    have = 0  # buf[:have]: read, not yielded, no whole message among them
    while True:
        if len(buf) - have < readsize:  # one message longer than the buffer: make room
            buf += bytes(len(buf))
        with memoryview(buf) as view, view[have:have + readsize] as room:
            got = read_into(room)
        if not got:
            break
        total = have + got
        if term is not None:
            end = buf.rfind(term, have, total) + 1  # 0 when none: buf[:have] holds none
        else:
            end = complete_end(buf, framing, 0, total)
        if end and max_size is not None:
            found = first_too_large(buf, 0, end, framing, max_size)
            if found is not None:  # send the messages before it, nothing of it
                if found[0]:
                    yield buf, found[0]
                raise too_large(framing, found[1], max_size, at_least=False)
        if end:
            yield buf, end
            rest = total - end
            buf[:rest] = buf[end:total]  # the slice is a copy: no overlap
            have = rest
        else:
            have = total
        if max_size is not None and have > HEADER:
            check_size(buf, have, framing, max_size)
    last = finish(buf[:have], framing)
    if last:
        yield bytearray(last), len(last)


def first_too_large(buf: bytes | bytearray, start: int, end: int, framing: str, max_size: int) -> tuple[int, int] | None:
    """(offset, size) of the first whole message in buf[start:end] (which ends
    on a boundary) longer than max_size, or None. Costs a scan only when
    buf[start:end] is itself longer than max_size."""
    if end - start <= max_size:
        return None
    term = TERMINATORS.get(framing)
    pos = start
    while pos < end:
        if term is None:
            size = int.from_bytes(buf[pos:pos + HEADER], "big")
            stop = pos + HEADER + size
        else:
            stop = buf.find(term, pos, end) + 1
            size = stop - 1 - pos
        if size > max_size:
            return pos, size
        pos = stop
    return None


def check_size(buf: bytes | bytearray, have: int, framing: str, max_size: int) -> None:
    """buf[:have] starts a message that has not ended yet: FramingError
    (TOO_LARGE) if it is already known to be longer than max_size."""
    if TERMINATORS.get(framing) is None:
        size = int.from_bytes(buf[:HEADER], "big")
        if size > max_size:
            raise too_large(framing, size, max_size, at_least=False)
    elif have > max_size:
        raise too_large(framing, have, max_size, at_least=True)


def batches(buf: bytes | bytearray, end: int, framing: str, limit: int = PIPE_BUF, start: int = 0) -> Iterator[tuple[int, int, int]]:
    """Split the whole messages in buf[start:end] into (start, stop, count) runs
    of at most ``limit`` bytes that end on message boundaries. A message longer
    than limit comes alone (count 1) and may be longer."""
    term = TERMINATORS.get(framing)
    pos = start
    while pos < end:
        if term is not None:
            if end - pos <= limit:
                stop = end
            else:
                cut = buf.rfind(term, pos, pos + limit)
                stop = cut + 1 if cut >= 0 else buf.find(term, pos + limit, end) + 1
            yield pos, stop, count_terminators(buf, term, pos, stop)
        else:
            stop, count = pos, 0
            while stop < end:
                nxt = stop + HEADER + int.from_bytes(buf[stop:stop + HEADER], "big")
                if count and nxt - pos > limit:
                    break
                stop, count = nxt, count + 1
                if stop - pos > limit:
                    break
            yield pos, stop, count
        pos = stop


def split(buf: bytes | bytearray | memoryview, framing: str) -> list[bytes]:
    """The payloads of the whole messages in buf (which ends on a boundary)."""
    term = TERMINATORS.get(framing)
    if term is not None:
        return bytes(buf[:-1]).split(term) if buf else []
    out: list[bytes] = []
    pos = 0
    while pos < len(buf):
        size = int.from_bytes(buf[pos:pos + HEADER], "big")
        out.append(bytes(buf[pos + HEADER:pos + HEADER + size]))
        pos += HEADER + size
    return out
