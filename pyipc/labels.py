"""Whose stderr is this: each stage's stderr lines, labelled ``[2 grep] ...``.

Each labelled stage writes its stderr into a pipe of its own; the supervision
loop reads those pipes while it waits for the stages (Supervisor.watch) and
writes every line, prefixed with the stage's number and program name, to an
ErrStream (our stderr), as the lines come. A line is never cut, nor merged
with another stage's: a stage's bytes are held until its newline, and each
labelled line goes out whole in one write(2) (pyipc.errstream).

A line longer than LINE_MAX bytes (without its newline) is written in pieces
of at most LINE_MAX bytes, each labelled and ended with a newline, cut at a
UTF-8 character boundary when there is one nearby: memory stays bounded
however long a stage's line is. A last line without a newline (at EOF) gets
one, so that the next label starts a line of its own.

Once the stages have ended the loop is over: ``finish()`` takes what is
already in the pipes (at most one pipeful each, even if a process left
behind keeps writing) and closes them; a process left behind that writes to
its stderr later gets EPIPE, as with any pipe whose reader is gone.

Transparency: while the stream is backed up (our stderr takes nothing) the
pipes are not read, so a stage blocks on its stderr as it would on ours; a
stream broken from the start gets no pipes at all (the stages get our stderr
as it is), and one that breaks later makes us close the pipes, so that a
stage's next write to its stderr gets SIGPIPE as it would have.
"""

from __future__ import annotations

import fcntl
import os

from .spawn import make_pipe

TYPE_CHECKING = False  # typing costs start-up; type checkers read the annotations
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from .errstream import ErrStream
    from .supervise import Supervisor

__all__ = ["StderrLabels", "label_name", "LINE_MAX"]

LINE_MAX = 16384  # bytes of a stage's line per labelled line; longer ones go out in pieces
_READ = 1 << 16
_F_GETPIPE_SZ = getattr(fcntl, "F_GETPIPE_SZ", 1032)


def label_name(argv: Sequence[str], shell: bool = False) -> str:
    """The program name a label shows: the first word that is not a
    NAME=value assignment (as sh reads a command), without its directory;
    with shell=True (a stage run as sh -c COMMAND), the first such word of
    COMMAND. Control characters become '?'."""
    words: Sequence[str] = argv[2].split() if shell and len(argv) >= 3 else argv
    name = next((word for word in words if not _assignment(word)), words[0] if words else "?")
    if shell:
        name = name.strip("'\"")
    name = os.path.basename(name) or name
    return "".join(c if c.isprintable() else "?" for c in name) or "?"


def _assignment(word: str) -> bool:
    head, equals, _ = word.partition("=")
    return bool(equals) and head.replace("_", "a").isalnum() and head.isascii() and not head[:1].isdigit()


class _Source:
    __slots__ = ("fd", "prefix", "held", "write_end")

    def __init__(self, fd: int, write_end: int, prefix: bytes):
        self.fd, self.write_end, self.prefix = fd, write_end, prefix
        self.held = b"\n"  # a newline, then the line under way (see _take)


class StderrLabels:
    """One pipe per stage: give ``stage_fds`` to the Pipeline as the stages'
    stderr, call ``started(sup)`` once the stages run (before waiting), and
    ``finish()`` once the loop is over. names[i] labels stage i+1."""

    def __init__(self, stream: ErrStream, names: Sequence[str], trace: Callable[[str], None] | None = None):
        self.stream, self.trace = stream, trace
        self._sources: dict[int, _Source] = {}
        self._paused: set[int] = set()
        self._sup: Supervisor | None = None
        self.stage_fds: list[int | None] = [None] * len(names)
        if stream.broken:  # nobody reads our stderr: the stages get it as it is, and SIGPIPE as they would
            return
        self.stage_fds = []
        try:
            for number, name in enumerate(names, 1):
                read_end, write_end = make_pipe()
                prefix = f"[{number} {name}] ".encode("utf-8", "surrogateescape")
                self._sources[read_end] = _Source(read_end, write_end, prefix)
                self.stage_fds.append(write_end)
                if trace:
                    trace(f"pipe() = [{read_end}, {write_end}]  (stage {number}'s stderr, to label)")
        except BaseException:
            self.close()
            raise
        stream.on_broken.append(self._broken)

    def started(self, sup: Supervisor) -> None:
        """The stages hold their write ends now: close ours (or no pipe would
        ever give EOF) and read them in sup's loop."""
        self._sup = sup
        self.stream.attach(sup)
        for source in self._sources.values():
            if source.write_end >= 0:
                os.close(source.write_end)
                if self.trace:
                    self.trace(f"close({source.write_end})")
                source.write_end = -1
            os.set_blocking(source.fd, False)
            sup.watch(source.fd, self._reader(source))

    def _reader(self, source: _Source) -> Callable[[], bool]:
        return lambda: self._read(source)

    def _read(self, source: _Source) -> bool:
        if source.fd not in self._sources:
            return False
        try:
            data = os.read(source.fd, _READ)
        except BlockingIOError:
            return True
        except OSError:
            data = b""
        if not data:
            self._end(source)
            return False
        self._take(source, data)
        if self.stream.backed_up and not self.stream.broken:
            # Stop reading until our stderr takes what waits: the stage then
            # blocks on its full pipe, as it would on a stuck stderr of its own.
            if not self._paused:
                self.stream.when_drained(self._resume)
            self._paused.add(source.fd)
            return False
        return True

    def _resume(self) -> None:
        paused, self._paused = self._paused, set()
        for fd in paused:
            source = self._sources.get(fd)
            if source is not None and self._sup is not None:
                self._sup.watch(fd, self._reader(source))

    def _take(self, source: _Source, data: bytes) -> None:
        # held: a newline, then what came of the line under way. With that
        # newline in front, one replace() labels every whole line of the
        # chunk, and the stream writes the labelled text from a slice of it:
        # two copies of the data in all (a join would be a third).
        held = source.held + data
        prefix = source.prefix
        end = held.rfind(b"\n") + 1
        if end > 1:
            if _longest_over(held, 1, end):
                self.stream.write(self._pieces(prefix, held[1:end - 1]))
            else:
                labelled = held.replace(b"\n", b"\n" + prefix)
                self.stream.write(labelled, 1, len(labelled) - (len(held) - end) - len(prefix))
            held = held[end - 1:]
        while len(held) > LINE_MAX + 1:  # no newline for that long: out in pieces
            cut = _cut(held, 1)
            self.stream.write(prefix + held[1:cut] + b"\n")
            held = b"\n" + held[cut:]
        source.held = held

    @staticmethod
    def _pieces(prefix: bytes, lines: bytes) -> bytes:
        """lines (without the last newline) labelled, those over LINE_MAX in pieces."""
        pieces = []
        for part in lines.split(b"\n"):
            start = 0
            while len(part) - start > LINE_MAX:
                cut = _cut(part, start)
                pieces.append(part[start:cut])
                start = cut
            pieces.append(part[start:])
        return prefix + (b"\n" + prefix).join(pieces) + b"\n"

    def _end(self, source: _Source) -> None:
        """EOF (or an error) on a stage's pipe: its last line, then close it."""
        if len(source.held) > 1:
            self.stream.write(source.prefix + source.held[1:] + b"\n")
            source.held = b"\n"
        self._forget(source)

    def _forget(self, source: _Source) -> None:
        if self._sources.pop(source.fd, None) is None:
            return
        self._paused.discard(source.fd)
        if self._sup is not None:
            self._sup.unwatch(source.fd)
        os.close(source.fd)
        if source.write_end >= 0:
            os.close(source.write_end)

    def _broken(self) -> None:
        # Nobody reads our stderr: close the pipes, so that a stage writing to
        # its stderr gets EPIPE (or SIGPIPE) as it would have writing to ours.
        for source in list(self._sources.values()):
            self._forget(source)

    def finish(self) -> None:
        """The loop is over: label what is already in the pipes (not waiting
        for processes left behind that still hold them), then close them."""
        self._sup = None
        for source in list(self._sources.values()):
            if source.write_end >= 0:  # never started (an error on the way): nothing to wait for
                self._forget(source)
                continue
            try:
                budget = fcntl.fcntl(source.fd, _F_GETPIPE_SZ)
            except OSError:
                budget = _READ
            while budget > 0 and source.fd in self._sources:
                try:
                    data = os.read(source.fd, _READ)
                except BlockingIOError:
                    break
                except OSError:
                    data = b""
                if not data:
                    break
                budget -= len(data)
                self._take(source, data)
            if source.fd in self._sources:
                self._end(source)

    def close(self) -> None:
        """Close every pipe end still open (after an error)."""
        self._sup = None
        for source in list(self._sources.values()):
            self._forget(source)


def _longest_over(data: bytes, start: int, end: int) -> bool:
    """Whether a line of data[start:end] (whole lines) is longer than
    LINE_MAX: a few memrchr calls per 64 KiB, each jumping to the last
    newline within LINE_MAX bytes of the start of a line."""
    while end - start > LINE_MAX + 1:
        newline = data.rfind(b"\n", start, start + LINE_MAX + 1)
        if newline < 0:
            return True
        start = newline + 1
    return False


def _cut(data: bytes, start: int = 0) -> int:
    """Where to end a piece of at most LINE_MAX bytes from start: not inside
    a UTF-8 character (its continuation bytes are 0b10xxxxxx), if one ends
    within 3 bytes."""
    cut = start + LINE_MAX
    for back in range(4):
        if data[cut - back] & 0xC0 != 0x80:
            return cut - back
    return cut
