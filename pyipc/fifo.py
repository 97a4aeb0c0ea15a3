"""FIFOs as dependable message channels: safe opening, deadlines, atomic sends,
exact receives, and removal of only the FIFO we made.

Waiting is done in one place, ``Waiter.wait``: poll(2) on the FIFO and on the
read end of a signal wakeup pipe (``StopSignals``), so a deadline or a SIGINT,
SIGTERM or SIGHUP ends any wait on the FIFO at once, and no work happens in a
signal handler. The only blocking calls are on fds that are not ours to make
non-blocking (stdin, stdout, shared with other processes); around those, and
only there, the handler raises ``Interrupted`` so that a stuck consumer cannot
make us ignore SIGTERM (PEP 475: a handler that raises interrupts the call).
"""

from __future__ import annotations

import errno
import fcntl
import os
import select
import signal
import stat
import termios
import time

from .durations import poll_ms
from .errors import PyipcError, UsageError
from .framing import HEADER, PIPE_BUF, TERMINATORS, batches, count_terminators, runs, split

F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)
STREAM_PIPE_SIZE = 1 << 20  # the default /proc/sys/fs/pipe-max-size
F_GETPIPE_SZ = getattr(fcntl, "F_GETPIPE_SZ", 1032)
FIONREAD = getattr(termios, "FIONREAD", 0x541B)
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
_IN = select.POLLIN | select.POLLHUP | select.POLLERR
_OUT = select.POLLOUT | select.POLLERR | select.POLLHUP


# -- errors ------------------------------------------------------------------

class NotAFifo(PyipcError):
    def __init__(self, path, kind: str):
        super().__init__(f"'{os.fsdecode(path)}' is {kind}, not a FIFO; left as it is")
        self.path, self.kind = path, kind


class NoReader(PyipcError):
    """--no-wait and nobody has the FIFO open for reading."""


class Deadline(PyipcError):
    """A --timeout ran out. ``partial`` is True only when a message larger than
    the pipe could hold had already been started (see send_framed)."""

    def __init__(self, message: str, partial: bool = False):
        super().__init__(message)
        self.partial = partial


class ReaderGone(PyipcError):
    def __init__(self, delivered: int):
        super().__init__(f"the reader went away (EPIPE) after {delivered} message{'s' if delivered != 1 else ''} delivered")
        self.delivered = delivered


class StreamError(PyipcError):
    """Reading stdin or writing stdout failed (not the FIFO): EBADF when it was
    closed, EIO, ENOSPC... BrokenPipeError on stdout is left as it is."""


class Interrupted(PyipcError):
    def __init__(self, signum: int):
        super().__init__(f"interrupted by signal {signum}")
        self.signum = signum


def parse_mode(text: str) -> int:
    """'600', '0600', '0o644' -> permission bits; UsageError otherwise."""
    digits = text[2:] if text[:2].lower() == "0o" else text
    if not digits or len(digits) > 4 or any(c not in "01234567" for c in digits) or int(digits, 8) > 0o777:
        raise UsageError(f"invalid mode '{text}' (octal permission bits, 0 to 777, like 600)")
    return int(digits, 8)


def kind_of(mode: int) -> str:
    for test, name in ((stat.S_ISREG, "a regular file"), (stat.S_ISDIR, "a directory"),
                       (stat.S_ISLNK, "a symbolic link"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device")):
        if test(mode):
            return name
    return "not a FIFO"


# -- signals and waiting -----------------------------------------------------

class StopSignals:
    """SIGINT/SIGTERM/SIGHUP become a byte on a pipe that every wait polls.

    The Python-level handler does nothing unless ``blocking()`` is active (a
    blocking read of stdin or write of stdout), where it raises Interrupted.
    """

    def __init__(self, signums=STOP_SIGNALS):
        self.signums = tuple(signums)
        self.fd = -1
        self._write_fd = -1
        self._armed = False
        self._pending = 0
        self._old = {}
        self._old_wakeup = -1

    def __enter__(self) -> "StopSignals":
        from .sigblock import not_ignored

        # nohup, a background job: a signal ignored at start stays ignored
        self.signums = not_ignored(self.signums)
        self.fd, self._write_fd = os.pipe()
        os.set_blocking(self.fd, False)
        os.set_blocking(self._write_fd, False)
        self._old_wakeup = signal.set_wakeup_fd(self._write_fd, warn_on_full_buffer=False)
        for signum in self.signums:
            self._old[signum] = signal.signal(signum, self._handler)
        return self

    def __exit__(self, *exc) -> None:
        for signum, old in self._old.items():
            signal.signal(signum, old)
        signal.set_wakeup_fd(self._old_wakeup)
        os.close(self.fd)
        os.close(self._write_fd)

    def _handler(self, signum, frame):
        if self._armed:
            self._armed = False
            raise Interrupted(signum)
        self._pending = self._pending or signum  # only noted: acted on at the next check()

    def check(self) -> None:
        """Raise Interrupted if one of our signals has arrived (no syscall)."""
        if self._pending:
            raise Interrupted(self._pending)

    def drain(self) -> None:
        """The wakeup pipe is readable: empty it, then check()."""
        try:
            data = os.read(self.fd, 64)
        except BlockingIOError:
            data = b""
        for signum in data:
            if signum in self.signums and not self._pending:
                self._pending = signum
        self.check()

    def arm(self) -> None:
        """From now until disarm(), a stop signal raises Interrupted at once,
        interrupting a blocked system call (raises now if one is pending)."""
        self.check()
        self._armed = True

    def disarm(self) -> None:
        self._armed = False

    def blocking(self, call, *args):
        """Run a blocking call that a stop signal must be able to interrupt."""
        self.arm()
        try:
            return call(*args)
        finally:
            self.disarm()


class Waiter:
    """poll(2) on one fd plus the stop pipe, with an absolute deadline."""

    def __init__(self, stop: StopSignals | None):
        self.stop = stop
        self._polls = {}

    def wait(self, fd: int, events: int, deadline: float | None) -> int:
        """Revents of fd, or 0 when the deadline came first."""
        key = (fd, events)
        poller = self._polls.get(key)
        if poller is None:
            poller = self._polls[key] = select.poll()
            poller.register(fd, events)
            if self.stop is not None:
                poller.register(self.stop.fd, select.POLLIN)
        while True:
            timeout = None if deadline is None else poll_ms(deadline - time.monotonic())
            ready = dict(poller.poll(timeout))
            if self.stop is not None and self.stop.fd in ready:
                self.stop.drain()
            if fd in ready:
                return ready[fd]
            if deadline is not None and time.monotonic() >= deadline:
                return 0

    def backoff(self, pause: float, deadline: float | None, longest: float) -> float | None:
        """One step of a retry loop: sleep pause (cut short by the deadline, or
        by a stop signal) and return the next, doubled up to longest; None,
        without sleeping, once the deadline has passed."""
        now = time.monotonic()
        if deadline is not None and now >= deadline:
            return None
        self.sleep(pause if deadline is None else min(pause, deadline - now))
        return min(pause * 2, longest)

    def sleep(self, seconds: float) -> None:
        """Sleep, but wake for a stop signal."""
        if self.stop is None:
            time.sleep(seconds)
            return
        poller = select.poll()
        poller.register(self.stop.fd, select.POLLIN)
        if poller.poll(poll_ms(seconds, minimum=1)):  # at least 1 ms: never a busy loop
            self.stop.drain()


def grow_pipe(fd: int, size: int) -> int:
    """The pipe's capacity, grown to size first if it is smaller. Only ever
    grown; the system's pipe limits may refuse (then it stays as it was)."""
    capacity = fcntl.fcntl(fd, F_GETPIPE_SZ)
    if capacity < size:
        try:
            capacity = fcntl.fcntl(fd, F_SETPIPE_SZ, size)
        except OSError:
            pass
    return capacity


def deadline_after(timeout: float | None) -> float | None:
    return None if not timeout else time.monotonic() + timeout


def seconds_text(timeout: float) -> str:
    return f"{timeout:g}s"


# -- opening -----------------------------------------------------------------

class Fifo:
    """An open FIFO. Closing it removes the FIFO if this process created it
    (unless keep), and only if the path still names that same FIFO."""

    def __init__(self, fd: int, path, created: tuple[int, int] | None, keep: bool, pin: int = -1):
        self.fd, self.path, self.created, self.keep = fd, path, created, keep
        self._pin = pin  # an O_PATH fd on the FIFO we created, while we hold no other

    def __enter__(self) -> "Fifo":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
        if self.created and not self.keep:
            remove_if_same(self.path, self.created)
            self.created = None
        if self._pin >= 0:
            os.close(self._pin)
            self._pin = -1


def remove_if_same(path, identity: tuple[int, int]) -> bool:
    """Unlink path only if it is still the inode we created (device, inode)."""
    try:
        info = os.lstat(path)
        if (info.st_dev, info.st_ino) == identity and stat.S_ISFIFO(info.st_mode):
            os.unlink(path)
            return True
    except FileNotFoundError:
        pass
    return False


def _check_path(path) -> bool:
    """True if path is a FIFO, False if it is missing; NotAFifo otherwise.
    lstat first, so that a device, socket or symlink is never even opened."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return False
    if not stat.S_ISFIFO(info.st_mode):
        raise NotAFifo(path, kind_of(info.st_mode))
    return True


def _open_checked(path, flags: int) -> int:
    """open with O_NOFOLLOW|O_NONBLOCK, fstat, refuse non-FIFOs, clear O_NONBLOCK."""
    try:
        fd = os.open(path, flags | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENXIO, errno.EISDIR):
            _check_path(path)  # replaced since the lstat: name what is there now
        raise
    info = os.fstat(fd)
    if not stat.S_ISFIFO(info.st_mode):
        os.close(fd)
        raise NotAFifo(path, kind_of(info.st_mode))
    os.set_blocking(fd, True)
    return fd


def _create(path, mode: int, flags: int) -> tuple[int | None, tuple[int, int] | None]:
    """mkfifo path and open it with flags; (fd, (dev, ino)), or (None, None)
    if something is there already. Made 0600 (owner only), then fchmod'ed on
    the open fd to the exact mode, so it is never more open than asked.

    A receiver keeps this very fd: closing it and opening again would let a
    writer that came in between write into a pipe that nobody reads, and its
    message would be dropped when the last fd closed."""
    old_umask = os.umask(0)  # exactly 0600: a umask of 0277 would leave us unable to open it
    try:
        os.mkfifo(path, 0o600)
    except FileExistsError:
        return None, None
    finally:
        os.umask(old_umask)
    made = os.lstat(path)
    try:
        fd = _open_checked(path, flags)
    except (OSError, NotAFifo):
        if remove_if_same(path, (made.st_dev, made.st_ino)):
            raise  # ours, and we cannot open it (a default ACL...): removed, and said
        return None, None  # replaced at once by someone else: it is not ours
    try:
        info = os.fstat(fd)
        os.fchmod(fd, mode)
    except BaseException:
        os.close(fd)
        raise
    return fd, (info.st_dev, info.st_ino)


def open_fifo(path, access: str, *, create: bool = False, mode: int = 0o600, keep: bool = False,
              wait: bool = True, timeout: float | None = None, waiter: Waiter | None = None) -> Fifo:
    """Open the FIFO at path for 'r', 'rw' or 'w'.

    'r' and 'rw' return at once (a reader's wait for a writer happens in the
    first poll). 'w' waits for a reader: NoReader at once if not wait, Deadline
    after timeout. Missing path: FileNotFoundError unless create. Anything but
    a FIFO: NotAFifo, untouched."""
    waiter = waiter or Waiter(None)
    created, fd, pin = None, None, -1
    flags = os.O_RDWR if access == "rw" else os.O_RDONLY
    if not _check_path(path):
        if not create:
            raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), os.fsdecode(path))
        fd, created = _create(path, mode, flags)
        if access == "w" and fd is not None:
            # That fd was only for fchmod: a writer must not count itself as a
            # reader. An O_PATH fd keeps the inode alive instead: with no fd on
            # it, a FIFO removed and made again by someone else can get the same
            # inode number, and remove_if_same would take it for ours.
            pin = os.open(f"/proc/self/fd/{fd}", os.O_PATH | os.O_CLOEXEC)
            os.close(fd)
            fd = None
    try:
        if fd is None:
            _check_path(path)
            if access == "w":
                fd = _open_writer(path, wait, deadline_after(timeout), timeout, waiter)
            else:
                fd = _open_checked(path, flags)
    except BaseException:
        if created and not keep:
            remove_if_same(path, created)
        if pin >= 0:
            os.close(pin)
        raise
    return Fifo(fd, path, created, keep, pin)


def _open_writer(path, wait: bool, deadline: float | None, timeout, waiter: Waiter) -> int:
    # A non-blocking open for writing fails with ENXIO until a reader comes;
    # retry with a short backoff. (A blocking open could not be given a
    # deadline nor interrupted cleanly.)
    pause = 0.001
    while True:
        try:
            return _open_checked(path, os.O_WRONLY)
        except OSError as exc:
            if exc.errno != errno.ENXIO:
                raise
        if not wait:
            raise NoReader(f"no reader: nobody has '{os.fsdecode(path)}' open for reading")
        pause = waiter.backoff(pause, deadline, 0.02)
        if pause is None:
            raise Deadline(f"no reader came within {seconds_text(timeout)}")
        if not _check_path(path):
            raise FileNotFoundError(errno.ENOENT, "removed while waiting for a reader", os.fsdecode(path))


# -- sending -----------------------------------------------------------------

class Sender:
    """Writes framed messages so that concurrent senders never interleave.

    Runs of whole messages up to PIPE_BUF bytes go out in one write, which the
    kernel keeps whole, under a shared flock; a longer message is written under
    an exclusive flock, which the shared holders wait for, so nothing lands
    between its pieces. ``delivered`` counts messages written into the FIFO."""

    def __init__(self, fd: int, framing: str, waiter: Waiter, timeout: float | None = None):
        self.fd, self.framing, self.waiter, self.timeout = fd, framing, waiter, timeout
        self.delivered = 0
        self._grown = False

    def send_framed(self, buf, end: int | None = None) -> None:
        """Send the whole messages in buf[:end] (end defaults to len(buf))."""
        end = len(buf) if end is None else end
        start = 0
        term = TERMINATORS.get(self.framing)
        if term is not None and self.timeout is None and self.waiter.stop is not None:
            start = self._send_small_runs(buf, end, term)
            if start == end:
                return
        self._send_general(buf, start, end)

    def send_from(self, in_fd: int, stop: StopSignals | None = None) -> None:
        """Send every message read from in_fd (fifo-send's stdin) until EOF,
        each run of whole messages as soon as it has been read."""
        grown = False

        def read_into(room) -> int:
            nonlocal grown
            try:
                got = stop.blocking(os.readv, in_fd, [room]) if stop else os.readv(in_fd, [room])
            except OSError as exc:
                raise StreamError(f"reading stdin: {exc.strerror}") from None
            if got == len(room) and not grown:
                # A stream, not a few lines: a larger stdin pipe lets its
                # writer run ahead instead of waking for each of our reads
                # (measured: a third less CPU for reading). Only ever grown.
                grown = True
                if stat.S_ISFIFO(os.fstat(in_fd).st_mode):
                    grow_pipe(in_fd, STREAM_PIPE_SIZE)
            return got

        for buf, end in runs(read_into, self.framing):
            self.send_framed(buf, end)

    def _send_small_runs(self, buf, end: int, term: bytes) -> int:
        """The streaming fast path (line/nul framing, no deadline): the same
        shared lock and the same atomic writes of at most PIPE_BUF bytes ending
        on a terminator as the general path, in a loop with no per-write
        generator, poll or deadline. Returns where it stopped: end, or the
        start of a message too long for one atomic write (the general path
        sends that one under the exclusive lock). The messages delivered are
        counted once per call, over the bytes written (on EPIPE too)."""
        stop_signals = self.waiter.stop
        fd, write, rfind = self.fd, os.write, buf.rfind
        if not self._grown:
            # A stream of small writes: a larger pipe lets the reader take many
            # at a time instead of waking for each (about 25% faster on 10M lines).
            self._grown = True
            grow_pipe(fd, STREAM_PIPE_SIZE)
        view = memoryview(buf)
        pos = 0
        gone = False
        self._lock(fcntl.LOCK_SH, None)
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
            fcntl.flock(fd, fcntl.LOCK_UN)
            view.release()
            self.delivered += count_terminators(buf, term, 0, pos)
        if gone:
            raise ReaderGone(self.delivered)
        return pos

    def _send_general(self, buf, begin: int, end: int) -> None:
        view = memoryview(buf)
        shared = False  # one shared lock covers a run of small writes
        try:
            for start, stop, count in batches(buf, end, self.framing, start=begin):
                deadline = deadline_after(self.timeout)
                if stop - start <= PIPE_BUF:
                    if not shared:
                        self._lock(fcntl.LOCK_SH, deadline)
                        shared = True
                    self._write_small(view[start:stop], deadline)
                else:
                    if shared:
                        fcntl.flock(self.fd, fcntl.LOCK_UN)
                        shared = False
                    self._lock(fcntl.LOCK_EX, deadline)
                    try:
                        self._send_large(view[start:stop], deadline)
                    finally:
                        fcntl.flock(self.fd, fcntl.LOCK_UN)
                self.delivered += count
        except BrokenPipeError:
            raise ReaderGone(self.delivered) from None
        finally:
            if shared:
                fcntl.flock(self.fd, fcntl.LOCK_UN)
            view.release()

    def _write_small(self, data: memoryview, deadline: float | None) -> None:
        # At most PIPE_BUF bytes: the kernel writes them whole or not at all.
        if deadline is None and self.waiter.stop is not None:
            self.waiter.stop.blocking(os.write, self.fd, data)  # no deadline: no poll needed
        else:
            self._wait_writable(deadline)
            os.write(self.fd, data)  # after POLLOUT a PIPE_BUF write does not block

    def _lock(self, how: int, deadline: float | None) -> None:
        pause = 0.0005
        while True:
            try:
                fcntl.flock(self.fd, how | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                pass
            pause = self.waiter.backoff(pause, deadline, 0.01)
            if pause is None:
                raise Deadline(f"could not lock the FIFO within {seconds_text(self.timeout)} (another sender holds it)")

    def _wait_writable(self, deadline: float | None, partial: bool = False) -> None:
        if self.waiter.wait(self.fd, _OUT, deadline):
            return
        if partial:
            raise Deadline(f"the reader stopped reading for {seconds_text(self.timeout)} in the middle of a message "
                           "larger than the pipe can hold; that message was cut", partial=True)
        raise Deadline(f"the reader took nothing for {seconds_text(self.timeout)}; nothing of the next message was written")

    def _send_large(self, data: memoryview, deadline: float | None) -> None:
        # Wait until the pipe can take the whole message, so that a deadline
        # never leaves half of it behind; grow the pipe if it is too small.
        size = len(data)
        # Over /proc/sys/fs/pipe-max-size it stays smaller: then the message
        # goes in pieces as the reader drains.
        capacity = grow_pipe(self.fd, 1 << (size + 2 * PIPE_BUF - 1).bit_length())
        pages = capacity // PIPE_BUF
        need = -(-size // PIPE_BUF)
        pause = 0.0005
        while True:
            queued = int.from_bytes(fcntl.ioctl(self.fd, FIONREAD, b"\0\0\0\0"), "little")
            # Pages in use: queued bytes may fill pages only half (a write that
            # does not fit a page's tail takes a new page), plus the head page.
            used = 0 if queued == 0 else 2 * -(-queued // PIPE_BUF) + 1
            if queued == 0 or used + need <= pages:
                break
            pause = self.waiter.backoff(pause, deadline, 0.01)
            if pause is None:
                raise Deadline(f"the reader took nothing for {seconds_text(self.timeout)}; nothing of the next message was written")
        pos = 0
        if used + need <= pages:
            # The pipe can take it all: write it in one go, with no poll between
            # the pieces, so that neither a deadline nor a stop signal cuts it
            # (a signal now is only noted, and acted on once it is whole).
            # Non-blocking, in case a writer that takes no lock filled the pipe
            # meanwhile: then, and only then, wait as below.
            os.set_blocking(self.fd, False)
            try:
                while pos < size:
                    try:
                        pos += os.write(self.fd, data[pos:pos + PIPE_BUF])
                    except BlockingIOError:
                        break
            finally:
                os.set_blocking(self.fd, True)
        while pos < size:  # larger than the largest pipe: it goes as the reader drains
            self._wait_writable(deadline, partial=pos > 0)
            pos += os.write(self.fd, data[pos:pos + PIPE_BUF])


# -- receiving ---------------------------------------------------------------

class Receiver:
    """Reads messages from a FIFO fd. Deadlines restart with each message."""

    def __init__(self, fd: int, framing: str, waiter: Waiter, timeout: float | None = None):
        self.fd, self.framing, self.waiter, self.timeout = fd, framing, waiter, timeout
        self._seen_data = False
        self._deadline = None

    def _wait(self, deadline: float | None) -> None:
        if not self.waiter.wait(self.fd, _IN, deadline):
            what = "no message arrived" if self._seen_data else "no writer came"
            raise Deadline(f"{what} within {seconds_text(self.timeout)}")

    def _read(self, size: int, deadline: float | None) -> bytes:
        return self._call(os.read, size, deadline)

    def _read_into(self, room) -> int:
        return self._call(os.readv, [room], self._deadline)

    def _call(self, read, arg, deadline: float | None):
        # Poll first when there is a deadline, and always before the first
        # bytes: until a writer has come, read() on a FIFO says EOF at once,
        # while poll() waits for that writer. After that, with no deadline, a
        # plain blocking read (which a stop signal interrupts) saves a syscall.
        stop = self.waiter.stop
        if deadline is not None or not self._seen_data or stop is None:
            self._wait(deadline)
            got = read(self.fd, arg)
        else:
            got = stop.blocking(read, self.fd, arg)
        if got:
            self._seen_data = True
        return got

    def blocks(self):
        """Yield memoryviews of whole framed messages, as they arrive, until
        EOF; each is valid until the next step. No per-message work: one rfind
        per read for line and nul framing. The deadline restarts with each."""
        self._deadline = deadline_after(self.timeout)
        for buf, end in runs(self._read_into, self.framing):
            with memoryview(buf) as view, view[:end] as block:
                yield block
            self._deadline = deadline_after(self.timeout)

    def messages(self):
        """Yield each message's payload as it arrives, until EOF."""
        for block in self.blocks():
            yield from split(block, self.framing)

    def exact_messages(self):
        """Yield payloads one by one, reading nothing past the end of the
        message yielded: what follows stays in the FIFO for the next reader.
        Line and nul framing read one byte at a time (a pipe cannot be peeked)."""
        term = TERMINATORS.get(self.framing)
        while True:
            deadline = deadline_after(self.timeout)
            if term is None:
                header = self._read_exact(HEADER, deadline)
                if header is None:
                    return
                size = int.from_bytes(header, "big")
                body = self._read_exact(size, deadline, inside=True) if size else b""
                yield body
            else:
                data = bytearray()
                while True:
                    byte = self._read(1, deadline)
                    if not byte:
                        if data:
                            yield bytes(data)
                        return
                    if byte == term:
                        break
                    data += byte
                yield bytes(data)

    def _read_exact(self, size: int, deadline, inside: bool = False):
        # The buffer grows with what arrives, not with what a header claims.
        data = bytearray(min(size, 1 << 20))
        pos = 0
        while pos < size:
            if pos == len(data):
                data += bytes(min(size, 2 * pos) - pos)
            with memoryview(data) as view, view[pos:] as room:
                got = self._call(os.readv, [room], deadline)
            if not got:
                if not pos and not inside:
                    return None
                from .framing import FramingError
                raise FramingError("the FIFO reached EOF inside a length frame: the last message was cut")
            pos += got
        return bytes(data)


def write_all(fd: int, data, stop: StopSignals | None = None) -> None:
    """Write all of data to a (blocking) fd such as stdout; a stop signal
    interrupts it. BrokenPipeError when the reader has gone."""
    view = memoryview(data)
    try:
        while view:
            written = stop.blocking(os.write, fd, view) if stop else os.write(fd, view)
            view = view[written:]
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise StreamError(f"write error: {exc.strerror}") from None
    finally:
        view.release()


def copy_out(fd: int, out_fd: int, waiter: Waiter, timeout: float | None = None) -> int:
    """Copy everything from the FIFO fd to out_fd until EOF, with no look at
    the bytes: splice(2) when out_fd allows it, else read and write. Returns
    the bytes copied. timeout: Deadline when nothing arrives for that long."""
    stop = waiter.stop
    total = 0
    use_splice = hasattr(os, "splice")
    deadline = deadline_after(timeout)
    while True:
        # As in Receiver._read: poll before the first bytes (a writer must have
        # come) and when there is a deadline; otherwise block in the copy.
        if deadline is not None or not total or stop is None:
            if not waiter.wait(fd, _IN, deadline):
                raise Deadline(f"nothing arrived within {seconds_text(timeout)}")
        if use_splice:
            try:
                moved = stop.blocking(os.splice, fd, out_fd, 1 << 20) if stop else os.splice(fd, out_fd, 1 << 20)
            except BrokenPipeError:
                raise
            except OSError as exc:
                if exc.errno not in (errno.EINVAL, errno.ENOSYS, errno.EBADF) or total:
                    # Reading a FIFO we hold fails with none of these: it is the output.
                    raise StreamError(f"write error: {exc.strerror}") from None
                use_splice = False  # a terminal, an O_APPEND file, a closed stdout...: read and write
                continue
        else:
            buf = stop.blocking(os.read, fd, 1 << 17) if stop else os.read(fd, 1 << 17)
            moved = len(buf)
            if moved:
                write_all(out_fd, buf, stop)
        if not moved:
            return total
        total += moved
        deadline = deadline_after(timeout)
