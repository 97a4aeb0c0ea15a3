"""Opening output files: the one way every command does it.

A command opens its outputs (``-o FILE``, ``--report-file FILE``) only after
every other check that can fail before its run has passed, and opens all of
them in one call, which either opens every one or changes nothing:

- each file is opened without O_TRUNC; a missing one is created with O_EXCL,
  so that we know it is ours and can remove it again;
- opens that could block (a FIFO with no reader yet) are made last, after
  every other output has been opened, so that a bad path fails at once;
- an output that is the same file as an input is refused before anything
  is truncated;
- only when every output is open are regular files truncated (unless
  appended to). On any failure, files created here are removed again and
  nothing is truncated.
"""

from __future__ import annotations

import errno
import fcntl
import os
import stat

from .errors import PyipcError

__all__ = ["Output", "SameAsInput", "open_outputs"]


class Output:
    """One output to open: ``path``, whether to ``append``, and the fds of
    inputs it must not be the same file as (``not_same_as``)."""

    __slots__ = ("path", "append", "not_same_as")

    def __init__(self, path: str, *, append: bool = False, not_same_as: tuple[int, ...] = ()):
        self.path, self.append, self.not_same_as = path, append, tuple(not_same_as)


class SameAsInput(PyipcError):
    """An output file that is also an input: writing it would destroy the input."""

    def __init__(self, path: str):
        super().__init__(path)
        self.path = path


def open_outputs(outputs: list[Output]) -> list[int]:
    """Open every output for writing; return their fds (close-on-exec,
    blocking), in order. All or nothing: raises OSError (with the filename)
    or SameAsInput, after closing what was opened and removing what was
    created, with no file truncated."""
    fds: list[int | None] = [None] * len(outputs)
    created: list[tuple[str, int, int]] = []  # (path, st_dev, st_ino) of files made here
    try:
        deferred = []
        for i, out in enumerate(outputs):
            fd = _open(out, created, nonblocking=True)
            if fd is None:
                deferred.append(i)
            else:
                fds[i] = fd
        for i in deferred:  # FIFOs without a reader: now wait for one, as a shell's > does
            fds[i] = _open(outputs[i], created, nonblocking=False)
        opened = [fd for fd in fds if fd is not None]  # all: a blocking open gives an fd or raises
        for out, fd in zip(outputs, opened):
            info = os.fstat(fd)
            for input_fd in out.not_same_as:
                source = os.fstat(input_fd)
                if stat.S_ISREG(info.st_mode) and (source.st_dev, source.st_ino) == (info.st_dev, info.st_ino):
                    raise SameAsInput(out.path)
        for fd in opened:
            flags = fcntl.fcntl(fd, fcntl.F_GETFL)
            if flags & os.O_NONBLOCK:
                fcntl.fcntl(fd, fcntl.F_SETFL, flags & ~os.O_NONBLOCK)
        for out, fd in zip(outputs, opened):
            if not out.append and stat.S_ISREG(os.fstat(fd).st_mode):
                try:
                    os.ftruncate(fd, 0)
                except OSError as exc:
                    raise OSError(exc.errno, exc.strerror, out.path) from None
    except BaseException:
        for fd in fds:
            if fd is not None:
                os.close(fd)
        _remove_created(created)
        raise
    return opened


def _open(out: Output, created: list[tuple[str, int, int]], *, nonblocking: bool) -> int | None:
    """The fd of out.path opened for writing, without truncating it; None when
    nonblocking and it is a FIFO with no reader yet."""
    flags = os.O_WRONLY | os.O_CLOEXEC | os.O_NOCTTY | (os.O_APPEND if out.append else 0)
    if nonblocking:
        flags |= os.O_NONBLOCK
    for _ in range(3):  # a file that appears or disappears while we look: try again
        try:
            return os.open(out.path, flags)
        except FileNotFoundError:
            pass
        except OSError as exc:
            if exc.errno == errno.ENXIO and nonblocking:
                return None
            raise
        try:
            fd = os.open(out.path, flags | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue  # made by someone else meanwhile, or a dangling symlink
        info = os.fstat(fd)
        created.append((out.path, info.st_dev, info.st_ino))
        return fd
    # A dangling symlink: a shell's > creates its target, so do we (not removed on failure).
    return os.open(out.path, flags | os.O_CREAT, 0o666)


def _remove_created(created: list[tuple[str, int, int]]) -> None:
    for path, dev, ino in created:
        try:
            info = os.stat(path, follow_symlinks=False)
            if (info.st_dev, info.st_ino) == (dev, ino):
                os.unlink(path)
        except OSError:
            pass  # already gone, or replaced: not ours any more
