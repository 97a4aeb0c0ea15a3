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
    """The program name a label shows: argv[0] without its directory; for a
    stage run with sh -c (shell=True), the first word of the command that is
    not a NAME=value assignment. Control characters become '?'."""
    name = os.path.basename(argv[0]) if argv else "?"
    if shell and len(argv) >= 3:
        for word in argv[2].split():
            head = word.split("=", 1)[0]
            if "=" not in word or not head.replace("_", "a").isalnum() or head[:1].isdigit():
                name = os.path.basename(word.strip("'\"")) or name
                break
    return "".join(c if c.isprintable() else "?" for c in name) or "?"


class _Source:
    __slots__ = ("fd", "prefix", "partial", "write_end")

    def __init__(self, fd: int, write_end: int, prefix: bytes):
        self.fd, self.write_end, self.prefix = fd, write_end, prefix
        self.partial = b""


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
        if source.partial:
            data = source.partial + data
        end = data.rfind(b"\n") + 1
        out = b""
        if end:
            out = self._label(source.prefix, data[:end] if end < len(data) else data)
            data = data[end:]
        while len(data) > LINE_MAX:
            cut = _cut(data)
            out += source.prefix + data[:cut] + b"\n"
            data = data[cut:]
        source.partial = data
        if out:
            self.stream.write(out)

    @staticmethod
    def _label(prefix: bytes, lines: bytes) -> bytes:
        """Whole lines (the last one ends with a newline), each labelled."""
        if len(lines) > LINE_MAX:
            parts = lines.split(b"\n")
            parts.pop()  # after the last newline: nothing
            if max(map(len, parts)) > LINE_MAX:
                pieces = []
                for part in parts:
                    while len(part) > LINE_MAX:
                        cut = _cut(part)
                        pieces.append(part[:cut])
                        part = part[cut:]
                    pieces.append(part)
                parts = pieces
            return prefix + (b"\n" + prefix).join(parts) + b"\n"
        return prefix + lines[:-1].replace(b"\n", b"\n" + prefix) + b"\n"

    def _end(self, source: _Source) -> None:
        """EOF (or an error) on a stage's pipe: its last line, then close it."""
        if source.partial:
            self.stream.write(source.prefix + source.partial + b"\n")
            source.partial = b""
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


def _cut(data: bytes) -> int:
    """Where to cut a piece of at most LINE_MAX bytes: not inside a UTF-8
    character (its continuation bytes are 0b10xxxxxx), if one ends within 3 bytes."""
    cut = LINE_MAX
    for back in range(4):
        if data[cut - back] & 0xC0 != 0x80:
            return cut - back
    return cut
