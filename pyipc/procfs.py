"""Reading /proc: one process's stat line, the processes there are, and what
a process has open. Nothing here changes anything."""

from __future__ import annotations

import os
import time

from ._record import _Record

TYPE_CHECKING = False  # typing costs start-up; type checkers read the annotations
if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["ProcInfo", "proc_info", "ProcIO", "proc_io", "read_position", "pids", "children_of", "holds_open",
           "open_elsewhere", "process_table", "below", "cmdline", "own_children"]

_CLK_TCK = os.sysconf("SC_CLK_TCK")


def _boot_seconds() -> float:
    # /proc/PID/stat's starttime counts clock ticks since boot (CLOCK_BOOTTIME).
    return time.clock_gettime(time.CLOCK_BOOTTIME)


class ProcInfo(_Record):
    """What /proc/PID/stat says about a process (zombies included)."""

    __slots__ = ('pid', 'name', 'state', 'ppid', 'pgid', 'start_ticks', 'exit_code')
    pid: int
    name: str
    state: str
    ppid: int
    pgid: int
    start_ticks: int
    exit_code: int
    # exit_code: the raw wait status; only meaningful for a zombie

    @property
    def age_s(self) -> float:
        return max(0.0, _boot_seconds() - self.start_ticks / float(_CLK_TCK))


def _read(path: str, size: int = 4096) -> bytes | None:
    """One read(2) of a /proc file (they are generated whole on the first
    read up to size); None if it is gone or unreadable. os.open/os.read, not
    open(): this runs once per reaped process, and a buffered file object
    costs more than the read itself."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        return os.read(fd, size)
    except OSError:
        return None
    finally:
        os.close(fd)


def proc_info(pid: int) -> ProcInfo | None:
    """Parse /proc/PID/stat; None if the process is gone or unreadable."""
    data = _read(f"/proc/{pid}/stat")
    if data is None:
        return None
    # comm may itself contain ')' or spaces: it ends at the last ')'.
    open_at, close_at = data.find(b"("), data.rfind(b")")
    if open_at < 0 or close_at < 0:
        return None
    name = data[open_at + 1:close_at].decode("utf-8", "replace")
    fields = data[close_at + 2:].split()
    try:
        exit_code = int(fields[49]) if len(fields) > 49 else None
        return ProcInfo(pid, name, fields[0].decode(), int(fields[1]), int(fields[2]), int(fields[19]), exit_code)
    except (IndexError, ValueError):
        return None


class ProcIO(_Record):
    """What /proc/PID/io says: ``rchar`` and ``wchar`` count the bytes the
    process's read and write calls moved (pipes, terminals and sockets
    included), ``read_bytes`` and ``write_bytes`` what went to or came from
    storage. The process's own threads only, not its children."""

    __slots__ = ('rchar', 'wchar', 'syscr', 'syscw', 'read_bytes', 'write_bytes', 'cancelled_write_bytes')
    rchar: int
    wchar: int
    syscr: int
    syscw: int
    read_bytes: int
    write_bytes: int
    cancelled_write_bytes: int


def proc_io(pid: int) -> ProcIO | None:
    """Parse /proc/PID/io, also readable while the process is a zombie (until
    it is reaped); None if it is gone, or unreadable: the file needs the
    access ptrace would (another user's process, a set-user-ID program), and
    a kernel built without task I/O accounting has none."""
    data = _read(f"/proc/{pid}/io")
    if data is None:
        return None
    values = {}
    for line in data.split(b"\n"):
        name, _, value = line.partition(b":")
        if value:
            values[name.decode()] = int(value)
    try:
        return ProcIO(**{name: values[name] for name in ProcIO.__slots__})
    except KeyError:
        return None


def pids() -> list[int]:
    """Every process id in this pid namespace."""
    return [int(entry) for entry in os.listdir("/proc") if entry.isdigit()]


def children_of(pid: int) -> list[int]:
    """Processes whose parent is pid, by scanning /proc (the kernel's
    /proc/PID/task/TID/children file is not built into every kernel)."""
    found = []
    for other in pids():
        info = proc_info(other)
        if info is not None and info.ppid == pid:
            found.append(other)
    return found


def own_children() -> list[int]:
    """This process's children: the kernel's /proc/self/task/TID/children when
    it is built in (one small read per thread), else a scan of /proc."""
    found = []
    try:
        for tid in os.listdir("/proc/self/task"):
            fd = os.open(f"/proc/self/task/{tid}/children", os.O_RDONLY | os.O_CLOEXEC)
            try:
                data = b""
                while chunk := os.read(fd, 65536):
                    data += chunk
            finally:
                os.close(fd)
            found += [int(pid) for pid in data.split()]
    except FileNotFoundError:
        return children_of(os.getpid())
    return found


def holds_open(pid: int, path: str) -> bool:
    """True if pid has path open (False once pid is gone)."""
    target = os.path.realpath(path)
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except (FileNotFoundError, ProcessLookupError):
        return False
    for fd in fds:
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") == target:
                return True
        except OSError:
            pass
    return False


def open_elsewhere(fd: int, modes: tuple[int, ...]) -> bool:
    """True if any open file descriptor but our own fd, in any process we can
    see, refers to the same file as fd and was opened with an access mode
    (O_RDONLY, O_WRONLY, O_RDWR) among modes."""
    own = os.fstat(fd)
    me = os.getpid()
    for pid in pids():
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for name in fds:
            if pid == me and int(name) == fd:
                continue
            try:
                info = os.stat(f"/proc/{pid}/fd/{name}")
            except OSError:
                continue
            if (info.st_dev, info.st_ino) != (own.st_dev, own.st_ino):
                continue
            position = read_position(pid, int(name))
            if position is not None and position[1] & os.O_ACCMODE in modes:
                return True
    return False


def read_position(pid: int, fd: int) -> tuple[int, int] | None:
    """(pos, flags) of pid's fd, from /proc/PID/fdinfo/FD; None if gone."""
    data = _read(f"/proc/{pid}/fdinfo/{fd}")
    if data is None:
        return None
    pos = flags = -1
    for line in data.split(b"\n", 2)[:2]:
        key, _, value = line.partition(b":")
        if key == b"pos":
            pos = int(value)
        elif key == b"flags":
            flags = int(value, 8)
    return (pos, flags) if pos >= 0 else None


def process_table() -> dict[int, tuple[int, str, int]]:
    """pid -> (ppid, state, pgid) for every process readable in /proc, in one pass."""
    table = {}
    for pid in pids():
        info = proc_info(pid)
        if info is not None:
            table[pid] = (info.ppid, info.state, info.pgid)
    return table


def below(table: dict[int, tuple[int, str, int]], roots: Iterable[int]) -> list[int]:
    """The live (not zombie) processes of table whose chain of parents reaches
    one of roots; roots themselves are not included."""
    children: dict[int, list[int]] = {}
    for pid, (ppid, _, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    found, todo = [], list(roots)
    seen = set(todo)
    while todo:
        for child in children.get(todo.pop(), ()):
            if child in seen:
                continue
            seen.add(child)
            todo.append(child)
            if table[child][1] not in ("Z", "X"):
                found.append(child)
    return found


def cmdline(pid: int) -> list[str] | None:
    """argv of a live process from /proc/PID/cmdline; None if gone, unreadable
    or empty (a zombie, a kernel thread)."""
    data = _read(f"/proc/{pid}/cmdline", 65536)
    if not data:
        return None
    return [os.fsdecode(part) for part in data.rstrip(b"\0").split(b"\0")]
