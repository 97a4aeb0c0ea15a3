"""Opening a FIFO safely: never following a symlink, never touching anything
that is not a FIFO, creating one only when asked (exactly the mode asked), and
removing only the FIFO this process made."""

from __future__ import annotations

import errno
import os
import stat

from ..errors import UsageError
from .errors import FifoMissing, FifoTimeout, NoReader, NotAFifo, waited
from .stop import Waiter, deadline_after


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


class Fifo:
    """An open FIFO. Closing it removes the FIFO if this process created it
    (unless keep), and only if the path still names that same FIFO; a
    reader's, only if no other process has it open for reading (a queue's
    other workers, a holder: a FIFO made again at that path would split the
    queue)."""

    def __init__(self, fd: int, path: str, created: tuple[int, int] | None, keep: bool, pin: int = -1,
                 reader: bool = False):
        self.fd, self.path, self.created, self.keep, self.reader = fd, path, created, keep, reader
        self._pin = pin  # an O_PATH fd on the FIFO we created, while we hold no other

    def __enter__(self) -> "Fifo":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        created = self.created
        remove = created is not None and not self.keep
        if remove and self.reader and self.fd >= 0:
            from .pipes import other_readers

            # A worker that made the queue must not take its name away from
            # the other readers still using it (workers, a holder's exec
            # 3<>q.fifo): a new FIFO made at the same path would split the
            # queue in two. A writer alone does not keep it.
            remove = not other_readers(self.fd)
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
        if remove and created is not None:
            remove_if_same(self.path, created)
        self.created = None
        if self._pin >= 0:
            os.close(self._pin)
            self._pin = -1


def remove_if_same(path: str, identity: tuple[int, int]) -> bool:
    """Unlink path only if it is still the inode we created (device, inode)."""
    try:
        info = os.lstat(path)
        if (info.st_dev, info.st_ino) == identity and stat.S_ISFIFO(info.st_mode):
            os.unlink(path)
            return True
    except FileNotFoundError:
        pass
    return False


def _check_path(path: str) -> bool:
    """True if path is a FIFO, False if it is missing; NotAFifo otherwise.
    lstat first, so that a device, socket or symlink is never even opened."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return False
    if not stat.S_ISFIFO(info.st_mode):
        raise NotAFifo(path, kind_of(info.st_mode))
    return True


def _open_checked(path: str, flags: int) -> int:
    """open with O_NOFOLLOW|O_NONBLOCK, fstat, refuse non-FIFOs, clear O_NONBLOCK."""
    try:
        fd = os.open(path, flags | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise FifoMissing(path) from None  # removed since the lstat
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


def _create(path: str, mode: int, flags: int) -> tuple[int | None, tuple[int, int] | None]:
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
        if (info.st_dev, info.st_ino) != (made.st_dev, made.st_ino):
            # Removed and made again by someone else between our mkfifo and
            # open: the FIFO we opened is theirs, never to be removed by us.
            os.close(fd)
            return None, None
        os.fchmod(fd, mode)
    except BaseException:
        os.close(fd)
        raise
    return fd, (info.st_dev, info.st_ino)


def open_fifo(path: str, access: str, *, create: bool = False, mode: int = 0o600, keep: bool = False,
              wait: bool = True, timeout: float | None = None, waiter: Waiter | None = None,
              await_path: bool = False) -> Fifo:
    """Open the FIFO at path for 'r', 'rw' or 'w'.

    'r' and 'rw' return at once (a reader's wait for a writer happens in the
    first poll). 'w' waits for a reader: NoReader at once if not wait,
    FifoTimeout after timeout. A missing path: made if create; else, with
    await_path and a timeout, waited for (within the same timeout); else
    FifoMissing. Anything but a FIFO: NotAFifo, left untouched."""
    waiter = waiter or Waiter(None)
    deadline = deadline_after(timeout)
    created, fd, pin = None, None, -1
    flags = os.O_RDWR if access == "rw" else os.O_RDONLY
    if not _check_path(path):
        if not create:
            if not (await_path and wait and deadline is not None):
                raise FifoMissing(path)
            _await_path(path, deadline, timeout, waiter)
        else:
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
            if not _check_path(path):
                raise FifoMissing(path)
            if access == "w":
                fd = _open_writer(path, wait, deadline, timeout, waiter)
            else:
                fd = _open_checked(path, flags)
    except BaseException:
        if created and not keep:
            remove_if_same(path, created)
        if pin >= 0:
            os.close(pin)
        raise
    return Fifo(fd, path, created, keep, pin, reader=access != "w")


def _await_path(path: str, deadline: float, timeout: float | None, waiter: Waiter) -> None:
    # The FIFO's maker (mkfifo-cat ... &) may not have run yet: poll for the
    # name, doubling the pause up to 20 ms, until the deadline.
    pause = 0.001
    while not _check_path(path):
        step = waiter.backoff(pause, deadline, 0.02)
        if step is None:
            raise FifoTimeout(waited().PATH, timeout or 0.0)
        pause = step


def _open_writer(path: str, wait: bool, deadline: float | None, timeout: float | None, waiter: Waiter) -> int:
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
            raise NoReader(path)
        step = waiter.backoff(pause, deadline, 0.02)
        if step is None:
            raise FifoTimeout(waited().READER, timeout or 0.0)
        pause = step
        if not _check_path(path):
            raise FifoMissing(path, while_waiting=True)
