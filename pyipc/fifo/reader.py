"""Receiving whole messages from a FIFO that other receivers share.

Every take happens under the receivers' lock (locks.ReceiverLock) and goes:
wait for data, peek at what is queued (tee(2), nothing consumed), find where
the whole messages end (the last one for a bulk take, the Nth for --count),
then consume exactly that much in one read(2). So two receivers never split a
message between them, a receiver never takes a message past its --count, and
a receiver killed at any moment has taken a message whole or not at all.

The one exception is a message larger than the pipe can hold (its sender
writes it as the pipe drains): that one is consumed in pieces under the lock,
and a receiver killed in its middle loses it and leaves its tail in the FIFO.
"""

from __future__ import annotations

import os
import select

from ..framing import (DEFAULT_MAX_SIZE, HEADER, PIPE_BUF, TERMINATORS, FramingError, _problems, check_size, complete_end,
                       count_terminators, finish, first_too_large, split)
from .errors import FifoTimeout, StreamError, waited
from .locks import ReceiverLock
from .pipes import Peeker, capacity, other_writers
from .stop import StopSignals, Waiter, deadline_after

TYPE_CHECKING = False  # typing costs start-up; type checkers read the annotations
if TYPE_CHECKING:
    from collections.abc import Iterator

_IN = select.POLLIN | select.POLLHUP | select.POLLERR
READ_SIZE = 1 << 16


def message_ends(buf: bytes | bytearray, start: int, end: int, framing: str, want: int | None) -> tuple[int, int]:
    """(stop, count): buf[start:stop] holds the first ``count`` whole messages
    of buf[start:end], at most ``want`` of them (None: all)."""
    term = TERMINATORS.get(framing)
    if term is None:
        pos, count = start, 0
        while (want is None or count < want) and end - pos >= HEADER:
            stop = pos + HEADER + int.from_bytes(buf[pos:pos + HEADER], "big")
            if stop > end:
                break
            pos, count = stop, count + 1
        return pos, count
    last = buf.rfind(term, start, end)
    if last < 0:
        return start, 0
    count = count_terminators(buf, term, start, last + 1)
    if want is None or count <= want:
        return last + 1, count
    pos = start
    for _ in range(want):
        pos = buf.find(term, pos, end) + 1
    return pos, want


class FifoReader:
    """Takes whole messages from a FIFO fd, sharing it safely with other
    FifoReaders (in this process or others). Deadlines restart with each take.

    ``max_size`` bounds one message (FramingError TOO_LARGE beyond it), and so
    the memory a sender without terminators can make us use."""

    def __init__(self, fd: int, framing: str, waiter: Waiter, timeout: float | None = None,
                 max_size: int = DEFAULT_MAX_SIZE):
        self.fd, self.framing, self.waiter, self.timeout = fd, framing, waiter, timeout
        self.max_size = max_size
        self.lock = ReceiverLock(fd, waiter, timeout)
        self._peeker: Peeker | None = None
        self._buf = bytearray(2 * READ_SIZE)
        # Every read is of bytes a peek has shown: it never needs to block,
        # and a non-blocking fd cannot hang if someone else took them.
        os.set_blocking(fd, False)
        self._seen_data = False
        self.eof = False

    def close(self) -> None:
        self.lock.release()
        if self._peeker is not None:
            self._peeker.close()
            self._peeker = None

    def __enter__(self) -> "FifoReader":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the public takes -----------------------------------------------------

    def blocks(self, limit: int | None = None) -> Iterator[tuple[memoryview, int | None]]:
        """Yield (block, count): memoryviews of whole framed messages as they
        come, and how many messages each holds (None when there is no limit:
        not counted), until EOF or until ``limit`` messages in all. Each block
        is valid until the next step."""
        taken = 0
        while limit is None or taken < limit:
            got = self.take(None if limit is None else limit - taken)
            if got is None:
                return
            end, count = got
            with memoryview(self._buf) as view, view[:end] as block:
                yield block, count
            taken += count or 0

    def messages(self, limit: int | None = None) -> Iterator[bytes]:
        """Yield each message's payload, until EOF or ``limit`` messages."""
        for block, _count in self.blocks(limit):
            yield from split(block, self.framing)

    def queued_blocks(self) -> Iterator[memoryview]:
        """The whole messages queued now, waiting for nothing (a collector
        that was told to stop): blocks as blocks() yields them."""
        while True:
            got = self.take(None, wait=False)
            if got is None:
                return
            with memoryview(self._buf) as view, view[:got[0]] as block:
                yield block

    def take(self, want: int | None, wait: bool = True) -> tuple[int, int | None] | None:
        """Consume whole messages (at most ``want``; None: as many as are
        queued) into the buffer: (end, count), the messages in buf[:end]; None
        at EOF. wait=False: only what is queued now, None if nothing whole is."""
        deadline = deadline_after(self.timeout) if wait else None
        self.lock.take(deadline, "MESSAGE" if self._seen_data else "WRITER")
        try:
            return self._take_locked(want, deadline, wait)
        finally:
            self.lock.release()

    # -- under the lock -------------------------------------------------------

    def _take_locked(self, want: int | None, deadline: float | None, wait: bool) -> tuple[int, int | None] | None:
        have = 0  # bytes of a message larger than the pipe, already consumed
        pause = 0.0005
        while True:
            if wait or have:  # once part of a message is taken, its end is waited for
                hangup = self._wait_for_data(deadline)
            else:
                hangup = self._hung_up_now()
            room_size = max(READ_SIZE, capacity(self.fd))
            if len(self._buf) - have < room_size:
                self._buf += bytes(have + room_size - len(self._buf))
            with memoryview(self._buf) as view, view[have:have + room_size] as room:
                queued = self._peek(room)
            if queued == 0:
                if hangup:
                    return self._at_eof(have)
                if not wait and not have:
                    return None
                continue  # woken with nothing queued: someone else's read
            self._seen_data = True
            total = have + queued
            if want is None:
                stop, count_or_none = complete_end(self._buf, self.framing, 0, total), None
                found = stop > 0
            else:
                stop, count = message_ends(self._buf, 0, total, self.framing, want)
                found, count_or_none = count > 0, count
            if found:
                too_large = first_too_large(self._buf, 0, stop, self.framing, self.max_size)
                if too_large is not None:
                    # Take the messages before it; refuse it, leaving it where it is.
                    if too_large[0] == 0:
                        raise FramingError(_problems().TOO_LARGE, self.framing, too_large[1], self.max_size)
                    stop, count = message_ends(self._buf, 0, too_large[0], self.framing, want)
                self._consume(have, stop)
                return stop, count_or_none
            self._check_size(total)
            if hangup:
                # The writers are gone, leaving a message without its end:
                # take it (a last line without newline is still a message).
                self._consume(have, total)
                return self._at_eof(total)
            if queued + PIPE_BUF > capacity(self.fd):
                # A full pipe and no message end: a message larger than the
                # pipe, whose sender waits for room. Take what is there.
                self._consume(have, total)
                have = total
                pause = 0.0005
                continue
            if not wait and not have:
                return None  # part of a message: leave it to whoever waits for it
            # Part of a message (a writer in the middle of it): wait for the rest.
            step = self.waiter.backoff(pause, deadline, 0.02)
            if step is None:
                raise FifoTimeout(waited().MESSAGE, self.timeout or 0.0, seen_data=True)
            pause = step

    def _hung_up_now(self) -> bool:
        poller = select.poll()
        poller.register(self.fd, _IN)
        ready = poller.poll(0)
        return bool(ready) and bool(ready[0][1] & (select.POLLHUP | select.POLLERR))

    def _wait_for_data(self, deadline: float | None) -> bool:
        """Until data or EOF; True on EOF (every writer gone, after one came)."""
        revents = self.waiter.wait(self.fd, _IN, deadline)
        if not revents:
            # The next message once data came, or while a writer is there that sent
            # nothing (a holder's exec 3<>q.fifo); else the first writer.
            message = self._seen_data or other_writers(self.fd)
            raise FifoTimeout(waited().MESSAGE if message else waited().WRITER, self.timeout or 0.0,
                              seen_data=self._seen_data)
        return not (revents & select.POLLIN) or bool(revents & (select.POLLHUP | select.POLLERR))

    def _peek(self, room: memoryview) -> int:
        if self._peeker is None:
            self._peeker = Peeker(self.fd)
        return self._peeker.peek(room)

    def _consume(self, start: int, stop: int) -> None:
        """Take buf[start:stop] out of the FIFO: one read, as the peek showed
        it. (A reader outside the lock, not a pyipc receiver, may have taken
        some of it meanwhile: then what is there is taken, and no more.)"""
        with memoryview(self._buf) as view:
            try:
                os.readv(self.fd, [view[start:stop]])
            except BlockingIOError:
                pass

    def _check_size(self, have: int) -> None:
        if have > HEADER or (TERMINATORS.get(self.framing) is not None and have > self.max_size):
            check_size(self._buf, have, self.framing, self.max_size)

    def _at_eof(self, have: int) -> tuple[int, int] | None:
        self.eof = True
        if not have:
            return None
        last = finish(self._buf[:have], self.framing)  # FramingError for a cut length frame
        self._buf[:len(last)] = last
        return len(last), 1


def check_writable(fd: int, stream: str = "stdout") -> None:
    """StreamError (EBADF) now if fd cannot be written at all: closed (or held
    by an O_PATH placeholder), or open for reading only. A receiver checks
    its stdout before it takes anything, so that it never takes messages out
    of a shared FIFO that it then cannot pass on."""
    import errno
    import fcntl

    try:
        flags = fcntl.fcntl(fd, fcntl.F_GETFL)
    except OSError:
        flags = os.O_PATH
    if flags & os.O_PATH or flags & os.O_ACCMODE not in (os.O_WRONLY, os.O_RDWR):
        raise StreamError(stream, errno.EBADF, os.strerror(errno.EBADF))


def write_all(fd: int, data: bytes | bytearray | memoryview, stop: StopSignals | None = None,
              finish: bool = False) -> None:
    """Write all of data to a (blocking) fd such as stdout; a stop signal
    interrupts it (Interrupted). With finish, a stop signal that comes
    meanwhile does not: data is written whole first, and Interrupted raised
    after. (Not by interrupting and writing again: a handler can raise just
    after the write(2) went through, and the data would go out twice.)
    BrokenPipeError when the reader has gone."""
    view = memoryview(data)
    try:
        while view:
            if stop is not None and not finish:
                written = stop.blocking(os.write, fd, view)
            else:
                written = os.write(fd, view)  # EINTR is retried (PEP 475): the signal is only noted
            view = view[written:]
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise StreamError.from_oserror("stdout", exc) from None
    finally:
        view.release()
    if finish and stop is not None:
        stop.check()  # a stop signal noted while the data went out
