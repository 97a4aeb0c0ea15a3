"""How far along is it: a progress line for a running pipeline, read from /proc.

No byte of the data passes through us (as ``pv -d PID`` does): the first
stage's input position is its file offset, the ``pos`` of /proc/PID/fdinfo/N,
against the size of the file /proc/PID/fd/N links to. N is the first stage's
stdin (0) when that is a regular file (``pipe-run -i FILE``, or a file given
as pipe-run's own stdin); otherwise the lowest-numbered regular file the first
stage has open for reading (``cat FILE``), looked up again at each refresh;
if there is none, the line shows how many bytes the first stage has read
(rchar of /proc/PID/io) and how fast. Each stage's rate of reading and
writing comes from rchar and wchar of its /proc/PID/io.

The line is refreshed from the supervision loop's timers (Supervisor.after),
at most once per ``interval`` (0.1 s), cut to the terminal's width so that
it never wraps, and drawn as ErrStream's status line: labelled stderr lines
(pyipc.labels) are written above it. ``finish()`` erases it.
"""

from __future__ import annotations

import os
import stat
import time
from collections import deque

from .procfs import proc_io, read_position

TYPE_CHECKING = False  # typing costs start-up; type checkers read the annotations
if TYPE_CHECKING:
    from collections.abc import Sequence

    from .errstream import ErrStream
    from .supervise import Supervisor

__all__ = ["Progress", "read_position", "read_io", "format_bytes"]

_WINDOW = 1.0  # seconds of samples a shown rate is computed over
_SCAN = 32  # fds of the first stage looked at for the file it reads (each refresh: one stat each)


def read_io(pid: int) -> tuple[int, int] | None:
    """(rchar, wchar) of pid, from /proc/PID/io: bytes it read and wrote
    through read(2)/write(2) and the like; None if gone or not ours to read."""
    io = proc_io(pid)
    return None if io is None else (io.rchar, io.wchar)


def format_bytes(count: float) -> str:
    """1023B, 1.00KiB, 12.3MiB, 512MiB: 1024-based, three significant digits."""
    if count < 1024:
        return f"{int(count)}B"
    for unit in ("KiB", "MiB", "GiB", "TiB", "PiB"):
        count /= 1024
        if count < 999.5 or unit == "PiB":
            break
    digits = 0 if count >= 99.95 else 1 if count >= 9.995 else 2
    return f"{count:.{digits}f}{unit}"


def _format_eta(seconds: float) -> str:
    seconds = int(seconds + 0.5)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


class _Rate:
    """A counter's rate over the last _WINDOW seconds of samples."""

    __slots__ = ("samples",)

    def __init__(self) -> None:
        self.samples: deque[tuple[float, int]] = deque()

    def add(self, when: float, value: int) -> None:
        self.samples.append((when, value))
        while len(self.samples) > 2 and self.samples[1][0] <= when - _WINDOW:
            self.samples.popleft()

    def per_second(self) -> float | None:
        if len(self.samples) < 2:
            return None
        (t0, v0), (t1, v1) = self.samples[0], self.samples[-1]
        return (v1 - v0) / (t1 - t0) if t1 > t0 else None


class _Stage:
    __slots__ = ("number", "name", "pid", "read", "written")

    def __init__(self, number: int, name: str, pid: int | None):
        self.number, self.name, self.pid = number, name, pid
        self.read, self.written = _Rate(), _Rate()


class Progress:
    """The progress line of a pipeline: ``started(sup, pids)`` once the stages
    run (before waiting), ``finish()`` once the loop is over (erases it).
    names[i] and pids[i] are stage i+1's (pid None: it did not start)."""

    def __init__(self, stream: ErrStream, names: Sequence[str], *, interval: float = 0.1):
        self.stream, self.interval = stream, interval
        self.names = list(names)
        self._sup: Supervisor | None = None
        self._stages: list[_Stage] = []
        self._input = _Rate()
        self._first: tuple[float, int] | None = None  # (when, pos) of the first position seen
        self._shown_input = ""

    def started(self, sup: Supervisor, pids: Sequence[int | None]) -> None:
        self._sup = sup
        self.stream.attach(sup)
        self._stages = [_Stage(number, name, pid) for number, (name, pid) in enumerate(zip(self.names, pids), 1)]
        self._sample(time.monotonic())
        sup.after(self.interval, self._tick)

    def _tick(self) -> None:
        if self._sup is None:
            return
        self.stream.status(self.line(time.monotonic()))
        self._sup.after(self.interval, self._tick)

    def _running(self, stage: _Stage) -> bool:
        return stage.pid is not None and self._sup is not None and stage.pid in self._sup.children

    def _sample(self, now: float) -> None:
        for stage in self._stages:
            if self._running(stage):
                assert stage.pid is not None
                counters = read_io(stage.pid)
                if counters is not None:
                    stage.read.add(now, counters[0])
                    stage.written.add(now, counters[1])
        first = self._stages[0] if self._stages else None
        if first is not None and self._running(first):
            assert first.pid is not None
            found = self._input_file(first.pid)
            if found is not None:
                name, pos, size = found
                if self._first is None:
                    self._first = (now, pos)
                self._input.add(now, pos)
                self._shown_input = self._input_text(now, name, pos, size)
            elif first.read.samples:
                count = first.read.samples[-1][1]
                rate = first.read.per_second()
                self._shown_input = format_bytes(count) + (f" {format_bytes(rate)}/s" if rate is not None else "")

    def _input_file(self, pid: int) -> tuple[str, int, int] | None:
        """(name, pos, size) of the file the first stage reads: its stdin if
        that is a regular file (name ""), else the lowest fd open for reading
        on a regular file."""
        candidates = [0]
        try:
            info = os.stat(f"/proc/{pid}/fd/0")
        except OSError:
            info = None
        if info is None or not stat.S_ISREG(info.st_mode):
            try:
                candidates = sorted(int(fd) for fd in os.listdir(f"/proc/{pid}/fd") if int(fd) >= 3)[:_SCAN]
            except OSError:
                return None
            info = None
        for fd in candidates:
            if info is None:
                try:
                    info = os.stat(f"/proc/{pid}/fd/{fd}")
                except OSError:
                    continue
            if stat.S_ISREG(info.st_mode):
                position = read_position(pid, fd)
                if position is not None and (fd == 0 or position[1] & os.O_ACCMODE == os.O_RDONLY):
                    name = ""
                    if fd != 0:
                        try:
                            name = os.path.basename(os.readlink(f"/proc/{pid}/fd/{fd}"))
                        except OSError:
                            name = f"fd {fd}"
                    return name, position[0], info.st_size
            info = None
        return None

    def _input_text(self, now: float, name: str, pos: int, size: int) -> str:
        percent = 100 if size <= 0 or pos >= size else pos * 100 // size
        text = f"{name} " if name else ""
        text += f"{percent}% {format_bytes(pos)} of {format_bytes(size)}"
        rate = self._input.per_second()
        if rate is not None:
            text += f" {format_bytes(rate)}/s"
        assert self._first is not None
        since, start = self._first
        average = (pos - start) / (now - since) if now > since else 0.0
        if 0 < pos < size and average > 0:
            text += f" ETA {_format_eta((size - pos) / average)}"
        return text

    def line(self, now: float) -> str:
        """Sample /proc and give the line as it would be drawn now (cut to
        the terminal's width)."""
        self._sample(now)
        parts = [self._shown_input] if self._shown_input else []
        for stage in self._stages:
            label = f"[{stage.number} {stage.name}]"
            if stage.pid is None:
                parts.append(f"{label} -")
            elif not self._running(stage):
                parts.append(f"{label} done")
            else:
                read, written = stage.read.per_second(), stage.written.per_second()
                if read is None or written is None:
                    parts.append(f"{label} ...")
                else:
                    parts.append(f"{label} r {format_bytes(read)}/s w {format_bytes(written)}/s")
        try:
            columns = os.get_terminal_size(self.stream.fd).columns
        except OSError:
            columns = 0
        # A pty whose size was never set (script -qc, docker exec -t) says 0
        # columns; the last column would wrap on some terminals.
        width = columns - 1 if columns > 1 else 79
        text = ""
        for part in parts:  # whole parts while they fit: a wrapped line could not be redrawn
            more = f"{text} | {part}" if text else part
            if len(more) > width:
                break
            text = more
        return text or (parts[0][:width] if parts else "")

    def finish(self) -> None:
        """Erase the line (the loop is over, or about to be left)."""
        self._sup = None
        self.stream.status(None)
