"""Our stderr, written from the supervision loop without ever blocking it.

pipe-run --label and --progress write to their own stderr while they wait
for the stages; a terminal stopped with Ctrl-S or a pipe nobody reads must
not stop the loop that passes signals on, reaps and keeps the deadline. So
``ErrStream`` writes through a non-blocking descriptor of its own (a tty or a
pipe is opened again through /proc/self/fd/2: setting O_NONBLOCK on fd 2
itself would change it for every process sharing it, the calling shell
included), keeps what could not be written yet in order, and lets the loop
write it when the descriptor is writable. Writers ask ``backed_up`` and stop
reading their own sources meanwhile: back-pressure reaches the stages as if
they wrote to the stuck stderr themselves.

Every write is whole lines: on a pipe, at most PIPE_BUF bytes of whole lines
in one write(2), which the kernel makes atomic against other writers of the
same pipe; elsewhere (a terminal, a file) up to 64 KiB. A status line (the
--progress line, no newline) is kept at the bottom: lines written while it
is shown go out as "erase it, the lines, draw it again", in one write.

Nothing here prints on its own or raises for a write error: a write that
fails with EPIPE makes the stream ``broken`` (its ``on_broken`` callbacks
run, so that a writer can close its sources and the stages get EPIPE as they
would have writing to our stderr directly); any other error makes it drop
what it is given, so the run goes on as with a stderr that swallows output.
"""

from __future__ import annotations

import errno
import os
import select
import stat
import time

from .spawn import Tracer

TYPE_CHECKING = False  # typing costs start-up; type checkers read the annotations
if TYPE_CHECKING:
    from collections.abc import Callable

    from .supervise import Supervisor

__all__ = ["ErrStream"]

# More than this many bytes waiting: writers should stop reading their sources.
_HIGH_WATER = 256 << 10
_BIG_BATCH = 64 << 10


class ErrStream:
    """Whole lines and one status line to fd (2), never blocking the caller
    on a terminal or a pipe (see the module's docstring). ``attach(sup)`` lets
    the supervision loop write what waits; ``close()`` writes out the rest."""

    def __init__(self, fd: int = 2):
        self.fd = fd
        self.broken = False      # EPIPE (or no reader from the start): nobody reads our stderr
        self.dead = False        # another error (EBADF, EIO, ENOSPC...): output is dropped
        self.on_broken: list[Callable[[], None]] = []
        self._out = fd
        self._owned = False
        self._batch = _BIG_BATCH
        self._buf = bytearray()  # waiting to be written, whole lines (and maybe a status line)
        self._sup: Supervisor | None = None
        self._watching = False
        self._drained: list[Callable[[], None]] = []
        self._status = b""        # the status line as drawn now (b"": none)
        self._status_next: bytes | None = None  # to draw once the queue is written
        try:
            info = os.fstat(fd)
        except OSError:
            self.dead = True  # started with fd 2 closed
            return
        mode = info.st_mode
        if stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
            self._batch = select.PIPE_BUF
        if stat.S_ISFIFO(mode) or (stat.S_ISCHR(mode) and os.isatty(fd)):
            self._reopen(fd, info)
        if stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
            poller = select.poll()
            poller.register(self._out, select.POLLOUT)
            self.broken = any(events & select.POLLERR for _, events in poller.poll(0))  # no reader left

    def _reopen(self, fd: int, info: os.stat_result) -> None:
        try:
            out = os.open(f"/proc/self/fd/{fd}", os.O_WRONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
        except OSError:
            return  # no /proc, or a pipe with no reader left: write to fd itself, blocking
        again = os.fstat(out)
        if (again.st_dev, again.st_ino) != (info.st_dev, info.st_ino):
            os.close(out)
            return
        if out < 3:  # fds 0-2 were closed: keep it out of the way of the stages' dup2
            from .spawn import lift_fd

            out = lift_fd(out)
        self._out, self._owned = out, True

    # -- the loop ------------------------------------------------------------------

    def attach(self, sup: Supervisor) -> None:
        """Let sup's loop write what waits, whenever our stderr takes it."""
        self._sup = sup
        self._watch()

    def _watch(self) -> None:
        if self._buf and self._sup is not None and not self._watching:
            self._watching = True
            self._sup.watch(self._out, self._writable, write=True)

    def _writable(self) -> bool:
        self._flush()
        if not self._buf:
            self._run_drained()
        self._watching = bool(self._buf)
        return self._watching

    def _run_drained(self) -> None:
        waiting, self._drained = self._drained, []
        for callback in waiting:
            callback()

    @property
    def backed_up(self) -> bool:
        """Too much waits: a writer should stop reading until ``when_drained``."""
        return len(self._buf) > _HIGH_WATER

    def when_drained(self, callback: Callable[[], None]) -> None:
        """Call callback (from the loop) once what waits has been written."""
        if not self._buf:
            callback()
        else:
            self._drained.append(callback)

    # -- writing -------------------------------------------------------------------

    def write(self, lines: bytes, start: int = 0, stop: int | None = None) -> None:
        """Whole lines (ending with a newline), lines[start:stop], in order
        after what was written before."""
        stop = len(lines) if stop is None else stop
        if self.dead or self.broken or stop <= start:
            return
        if self._status:
            lines = self._erase() + lines[start:stop] + self._status
            start, stop = 0, len(lines)
        if self._buf:
            with memoryview(lines) as view:
                self._buf += view[start:stop]
            return
        written = self._write_batches(lines, start, stop)
        if start + written < stop:
            with memoryview(lines) as view:
                self._buf += view[start + written:stop]
            self._watch()

    def status(self, text: str | None) -> None:
        """Draw (or with None, erase) the status line at the bottom. It is not
        queued: while other output waits, only the latest one is drawn after it."""
        frame = b"" if text is None else text.encode("utf-8", "replace")
        if self.dead or self.broken or frame == self._status:
            return
        if self._buf:
            self._status_next = frame
            return
        data = self._redraw(frame)
        self._status = frame
        written = self._write_batches(data)
        if written < len(data):
            self._buf += data[written:]
            self._watch()

    def _redraw(self, frame: bytes) -> bytes:
        # Over the old line, padded with spaces where it was longer: no flicker.
        if not frame:
            return self._erase()
        return b"\r" + frame + b" " * (len(self._status) - len(frame))

    def _erase(self) -> bytes:
        # Spaces, not an escape sequence: any terminal understands them.
        return b"\r" + b" " * len(self._status) + b"\r" if self._status else b""

    def tracer(self, tracer: Tracer) -> Tracer:
        """tracer, with the lines this process writes going through the stream
        (so that they never cut a labelled line or the status line); a forked
        child's still go straight to its fd."""
        return _StreamTracer(tracer, self)

    def _flush(self) -> None:
        if self._buf:
            written = self._write_batches(self._buf)
            del self._buf[:written]
        if not self._buf and self._status_next is not None and not (self.dead or self.broken):
            frame, self._status_next = self._status_next, None
            data = self._redraw(frame)
            self._status = frame
            written = self._write_batches(data)
            self._buf += data[written:]

    def _write_batches(self, data: bytes | bytearray, start: int = 0, stop: int | None = None) -> int:
        """Write data[start:stop] in batches of whole lines; how many bytes went out."""
        stop = len(data) if stop is None else stop
        done, batch = start, self._batch
        error = None
        with memoryview(data) as view:  # released before anyone resizes data
            while done < stop:
                end = done + batch
                if end >= stop:
                    end = stop
                else:
                    cut = data.rfind(b"\n", done, end)
                    if cut < done:  # one line longer than a batch: it goes alone
                        cut = data.find(b"\n", end, stop)
                    end = stop if cut < 0 else cut + 1
                try:
                    done += os.write(self._out, view[done:end])
                except BlockingIOError:
                    break
                except InterruptedError:
                    continue
                except OSError as exc:
                    error = exc
                    break
        if error is not None:
            self._failed(error)
            return stop - start
        return done - start

    def _failed(self, exc: OSError) -> None:
        self._buf.clear()
        self._status_next = None
        if exc.errno == errno.EPIPE:
            self.broken = True
            for callback in self.on_broken:
                callback()
        else:
            self.dead = True
        self._run_drained()  # nothing waits any more: writers may read on (and drop)

    # -- the end -------------------------------------------------------------------

    def close(self, give_up_after: float | None = None) -> None:
        """Write out what waits (the loop is over): as long as it takes, or,
        with give_up_after, drop the rest once our stderr has taken nothing
        for that many seconds (a run ended by a deadline must not wait on a
        stuck terminal). Then close our own descriptor."""
        self._sup, self._watching = None, False
        last_progress = time.monotonic()
        while self._buf and not (self.dead or self.broken):
            before = len(self._buf)
            self._flush()
            if not self._buf:
                break
            if len(self._buf) < before:
                last_progress = time.monotonic()
            wait = None
            if give_up_after is not None:
                wait = last_progress + give_up_after - time.monotonic()
                if wait <= 0:
                    break
            poller = select.poll()
            poller.register(self._out, select.POLLOUT)
            poller.poll(None if wait is None else max(1, int(wait * 1000)))
        self._buf.clear()
        if self._owned:
            os.close(self._out)
            self._owned = False
            self._out = self.fd


class _StreamTracer(Tracer):
    def __init__(self, tracer: Tracer, stream: ErrStream):
        super().__init__(tracer.fd, tracer.prefix)
        self._stream, self._pid = stream, os.getpid()

    def __call__(self, message: str) -> None:
        if os.getpid() != self._pid:  # between fork and exec: plain writes only
            super().__call__(message)
            return
        self._stream.write(f"{self.prefix}[pid {self._pid}] {message}\n".encode("utf-8", "surrogateescape"))
