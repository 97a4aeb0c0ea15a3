"""Sending framed messages into a FIFO that other senders share, and knowing
what became of them.

Runs of whole messages up to PIPE_BUF bytes go out in one write(2) each, which
the kernel never splits nor interleaves, under a shared sender lock; a larger
message goes under the exclusive lock, in one write(2) once the pipe has room
for all of it (the pipe is grown first if the message is larger than it), so
that neither a deadline, a stop signal nor SIGKILL leaves part of it behind.
Only a message larger than the largest pipe is written in pieces, as readers
drain it.

After the last write, ``wait_read_out`` waits until readers have taken
everything out of the pipe (FIONREAD is 0). ``unread`` tells what is still
there, in messages when that can be known (see ReaderGone).
"""

from __future__ import annotations

import os
import select
import stat

from ..framing import DEFAULT_MAX_SIZE, HEADER, PIPE_BUF, TERMINATORS, batches, count_terminators, runs
from .errors import FifoTimeout, ReaderGone, StreamError, waited
from .locks import SenderLock
from .pipes import capacity, grow_pipe, other_writers, queued
from .stop import StopSignals, Waiter, deadline_after

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections import deque
else:
    from _collections import deque  # collections' own: importing the collections package costs start-up

_OUT = select.POLLOUT | select.POLLERR | select.POLLHUP
STREAM_PIPE_SIZE = 1 << 20  # the default /proc/sys/fs/pipe-max-size


class FifoWriter:
    """Writes framed messages so that concurrent senders never interleave.
    ``written`` counts the messages fully written into the pipe."""

    def __init__(self, fd: int, framing: str, waiter: Waiter, timeout: float | None = None,
                 max_size: int = DEFAULT_MAX_SIZE):
        self.fd, self.framing, self.waiter, self.timeout = fd, framing, waiter, timeout
        self.max_size = max_size
        self.lock = SenderLock(fd, waiter, timeout)
        self.written = 0
        self.bytes_written = 0
        # The last bytes written (at least a pipe's worth, in whole chunks that
        # start on message boundaries): what may still be unread in the pipe.
        self._tail: deque[bytes] = deque()
        self._tail_size = 0

    # -- sending ----------------------------------------------------------------

    def send_framed(self, buf: bytes | bytearray, end: int | None = None) -> None:
        """Send the whole messages in buf[:end] (end defaults to len(buf))."""
        end = len(buf) if end is None else end
        start = 0
        term = TERMINATORS.get(self.framing)
        stop_signals = self.waiter.stop
        if term is not None and self.timeout is None and stop_signals is not None:
            start = self._send_small_runs(buf, end, term, stop_signals)
            if start == end:
                return
        self._send_general(buf, start, end)

    def send_from(self, in_fd: int, stop: StopSignals | None = None) -> None:
        """Send every message read from in_fd (fifo-send's stdin) until EOF,
        each run of whole messages as soon as it has been read."""
        grown = False

        def read_into(room: memoryview) -> int:
            nonlocal grown
            try:
                got = stop.blocking(os.readv, in_fd, [room]) if stop else os.readv(in_fd, [room])
            except OSError as exc:
                raise StreamError.from_oserror("stdin", exc) from None
            if got == len(room) and not grown:
                # A stream, not a few lines (one read filled the buffer):
                # larger pipes let each side run ahead instead of waking for
                # every 4 KiB. Stdin's pipe: a third less CPU for reading; the
                # FIFO's: readers take large batches (measured: about a third
                # faster on 10M lines). Only ever grown; the system may refuse.
                grown = True
                if stat.S_ISFIFO(os.fstat(in_fd).st_mode):
                    grow_pipe(in_fd, STREAM_PIPE_SIZE)
                grow_pipe(self.fd, STREAM_PIPE_SIZE)
            return got

        for buf, end in runs(read_into, self.framing, max_size=self.max_size):
            self.send_framed(buf, end)

    def _remember(self, data: bytes | bytearray | memoryview) -> None:
        if not len(data):
            return
        self._tail.append(bytes(data))
        self._tail_size += len(data)
        keep = capacity(self.fd)
        while self._tail and self._tail_size - len(self._tail[0]) >= keep:
            self._tail_size -= len(self._tail.popleft())

    def _send_small_runs(self, buf: bytes | bytearray, end: int, term: bytes, stop_signals: StopSignals) -> int:
        """The streaming fast path (line/nul framing, no deadline): the same
        shared lock and the same atomic writes of at most PIPE_BUF bytes ending
        on a terminator as the general path, in a loop with no per-write
        generator, poll or deadline. Returns where it stopped: end, or the
        start of a message too long for one atomic write (the general path
        sends that one under the exclusive lock). The messages written are
        counted once per call, over the bytes written (on EPIPE too)."""
        fd, write, rfind = self.fd, os.write, buf.rfind
        view = memoryview(buf)
        pos = 0
        gone = False
        self.lock.shared(None)
        try:
            stop_signals.arm()  # a stop signal interrupts a write blocked on a full pipe
            while pos < end:
                if end - pos <= PIPE_BUF:
                    stop = end
                else:
                    cut = rfind(term, pos, pos + PIPE_BUF)
                    if cut < 0:
                        break
                    stop = cut + 1
                write(fd, view[pos:stop])  # <= PIPE_BUF bytes: written whole or not at all
                pos = stop
        except BrokenPipeError:
            gone = True
        finally:
            stop_signals.disarm()
            self.lock.release()
            self.written += count_terminators(buf, term, 0, pos)
            self.bytes_written += pos
            self._remember(view[:pos])
            view.release()
        if gone:
            raise self._reader_gone()
        return pos

    def _send_general(self, buf: bytes | bytearray, begin: int, end: int) -> None:
        view = memoryview(buf)
        shared = False  # one shared lock covers a run of small writes
        try:
            for start, stop, count in batches(buf, end, self.framing, start=begin):
                deadline = deadline_after(self.timeout)
                if stop - start <= PIPE_BUF:
                    if not shared:
                        self.lock.shared(deadline)
                        shared = True
                    self._write_small(view[start:stop], deadline)
                    self.bytes_written += stop - start
                    self._remember(view[start:stop])
                else:
                    if shared:
                        self.lock.release()
                        shared = False
                    self.lock.exclusive(deadline)
                    try:
                        self._send_large(view[start:stop], deadline)
                    finally:
                        self.lock.release()
                self.written += count
        except BrokenPipeError:
            raise self._reader_gone() from None
        finally:
            if shared:
                self.lock.release()
            view.release()

    def _write_small(self, data: memoryview, deadline: float | None) -> None:
        # At most PIPE_BUF bytes: the kernel writes them whole or not at all.
        if deadline is None and self.waiter.stop is not None:
            self.waiter.stop.blocking(os.write, self.fd, data)  # no deadline: no poll needed
        else:
            self._wait_writable(deadline)
            os.write(self.fd, data)  # after POLLOUT a PIPE_BUF write does not block

    def _wait_writable(self, deadline: float | None, partial: bool = False) -> None:
        if self.waiter.wait(self.fd, _OUT, deadline):
            return
        raise FifoTimeout(waited().ROOM, self.timeout or 0.0, partial=partial)

    def _send_large(self, data: memoryview, deadline: float | None) -> None:
        size = len(data)
        # The one case where the FIFO's buffer is grown: a message larger than
        # it. Over /proc/sys/fs/pipe-max-size it stays smaller: then the
        # message goes in pieces as the reader drains.
        slots = capacity(self.fd)
        if size > slots:
            slots = grow_pipe(self.fd, size)
        slots //= PIPE_BUF
        need = -(-size // PIPE_BUF)
        pause = 0.0005
        while True:
            waiting = queued(self.fd)
            # Slots in use: queued bytes may fill pages only partly (a write
            # that does not fit a page's tail takes a new one), plus the head.
            used = 0 if waiting == 0 else 2 * -(-waiting // PIPE_BUF) + 1
            if waiting == 0 or used + need <= slots:
                break
            step = self.waiter.backoff(pause, deadline, 0.01)
            if step is None:
                raise FifoTimeout(waited().ROOM, self.timeout or 0.0)
            pause = step
        pos = 0
        try:
            if need <= slots:
                # The pipe can take it all: one write(2), which nothing cuts (a
                # signal now is only noted, and acted on once it is whole).
                # Non-blocking, in case a writer that takes no lock filled the
                # pipe meanwhile: then, and only then, the rest goes as below.
                os.set_blocking(self.fd, False)
                try:
                    pos = os.write(self.fd, data)
                except BlockingIOError:
                    pos = 0
                finally:
                    os.set_blocking(self.fd, True)
            while pos < size:  # larger than the largest pipe: it goes as the reader drains
                self._wait_writable(deadline, partial=pos > 0)
                pos += os.write(self.fd, data[pos:pos + PIPE_BUF])
        finally:
            self.bytes_written += pos
            self._remember(data[:pos])

    # -- what became of it ------------------------------------------------------

    def unread(self) -> tuple[int | None, int]:
        """(messages, bytes) still in the pipe, unread. Messages is None when
        it cannot be told: another writer has the FIFO open (the bytes may be
        its), or more is queued than this writer wrote."""
        waiting = queued(self.fd)
        if waiting == 0:
            return 0, 0
        if waiting > min(self._tail_size, self.bytes_written) or other_writers(self.fd):
            return None, waiting
        tail = b"".join(self._tail)
        read_up_to = len(tail) - waiting  # in tail: everything before this was read
        term = TERMINATORS.get(self.framing)
        if term is not None:
            return count_terminators(tail, term, read_up_to, len(tail)), waiting
        pos, unread = 0, 0  # the tail starts on a message boundary
        while pos < len(tail):
            pos += HEADER + int.from_bytes(tail[pos:pos + HEADER], "big")
            if pos > read_up_to:
                unread += 1
        return unread, waiting

    def _reader_gone(self) -> ReaderGone:
        messages, waiting = self.unread()
        return ReaderGone(self.written, waiting, None if messages is None else self.written - messages)

    def wait_read_out(self) -> None:
        """Return once readers have taken out everything this writer wrote.

        A pipe does not say how much was read, only how much is queued; but
        between two looks the queue can only have shrunk by reads, so the sum
        of its drops is a lower bound of what was read. Everything queued
        right after our last write (ours, and anything ahead of it) has been
        read once that bound reaches it, or once the queue is empty: so
        other writers that keep the FIFO busy do not keep us waiting for an
        empty pipe. The --timeout restarts whenever readers take something;
        when it runs out: FifoTimeout(READ_OUT) with what is still unread."""
        ahead = waiting = queued(self.fd)  # our last byte is at most this far from the head
        read_at_least = 0
        deadline = deadline_after(self.timeout)
        pause = 0.0005
        while waiting and read_at_least < ahead:
            step = self.waiter.backoff(pause, deadline, 0.01)
            if step is None:
                messages, unread_bytes = self.unread()
                if messages is None:  # someone else's bytes are queued too: ours are at most this many
                    unread_bytes = min(unread_bytes, ahead - read_at_least)
                if unread_bytes == 0:
                    return
                raise FifoTimeout(waited().READ_OUT, self.timeout or 0.0, unread_messages=messages,
                                  unread_bytes=unread_bytes)
            pause = step
            now = queued(self.fd)
            if now < waiting:
                read_at_least += waiting - now
                deadline = deadline_after(self.timeout)
                pause = 0.0005
            waiting = now
