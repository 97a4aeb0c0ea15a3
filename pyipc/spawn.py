"""fork + dup2 + exec, done right, and the small fd helpers it needs.

The shape is CPython's ``_posixsubprocess.child_exec``: before fork, a
close-on-exec error pipe; in the child only what must be done (process group,
signal dispositions, dup2 onto 0/1/2, close the rest, exec); on failure the
child writes what failed into the error pipe and ends in ``os._exit``. It never
returns into the caller's Python stack: no ``finally`` of the caller, no test
framework, no CLI code runs in a forked child.

With the optional C extension (pyipc._speedups, see _vfork_arguments) the
child's steps are its spawn(): vfork, then the same steps in C. A fork copies
the page tables, and then every page Python writes on either side until the
exec takes a copy-on-write fault: about 2 ms of CPU for a trivial pipe-run,
a fifth of what `python -c pass` costs. _child is the way without the
extension, and for --trace.
"""

from __future__ import annotations

import errno
import fcntl
import os

from ._signals import signal  # no enum import: see _signals
from .errors import SpawnError

TYPE_CHECKING = False  # typing costs start-up; type checkers read the annotations
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence

__all__ = ["spawn", "make_pipe", "lift_fd", "Tracer", "MAXFD"]

try:
    MAXFD = os.sysconf("SC_OPEN_MAX")
except (ValueError, OSError):
    MAXFD = 256

# exec errors after which execvp(3) keeps looking further along PATH.
_TRY_NEXT = frozenset({errno.ENOENT, errno.ENOTDIR, errno.ESTALE, errno.ENODEV, errno.ETIMEDOUT})


class Tracer:
    """Writes one line per system-level step to a file descriptor, for --trace.

    Plain os.write on a caller-chosen fd: usable between fork and exec too,
    where no Python file object should be touched.
    """

    def __init__(self, fd: int = 2, prefix: str = ""):
        self.fd = fd
        self.prefix = prefix

    def __call__(self, message: str) -> None:
        line = f"{self.prefix}[pid {os.getpid()}] {message}\n"
        try:
            os.write(self.fd, line.encode("utf-8", "surrogateescape"))
        except OSError:
            pass  # tracing must never change the outcome (EPIPE on a closed stderr, ...)

    def moved_to(self, fd: int) -> "Tracer":
        return Tracer(fd, self.prefix)


def lift_fd(fd: int) -> int:
    """Return fd itself if it is 3 or above, else a close-on-exec copy at 3 or above
    (closing the original). With 0/1/2 closed, pipe() and open() hand out those
    numbers, and a later dup2 onto 0/1/2 would clobber them."""
    if fd >= 3:
        return fd
    high = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 3)
    os.close(fd)
    return high


def make_pipe() -> tuple[int, int]:
    """pipe() whose both ends are close-on-exec and numbered 3 or above."""
    read_end, write_end = os.pipe()  # PEP 446: not inheritable, i.e. O_CLOEXEC
    if read_end < 3 or write_end < 3:
        read_end, write_end = lift_fd(read_end), lift_fd(write_end)
    return read_end, write_end


def _exec_candidates(program: str, env: Mapping[str, str] | None) -> list[str]:
    # Computed in the parent, like subprocess does, so the child only calls execve.
    if "/" in program:
        return [program]
    return [os.path.join(directory, program) for directory in _exec_path(env)]


def _exec_path(env: Mapping[str, str] | None) -> list[str]:
    """os.get_exec_path(env), without the import of warnings it does every
    time (to silence a BytesWarning while it looks for a b'PATH' key, which
    only a mapping with bytes keys can have: those still go to it)."""
    if env is None:
        env = os.environ
    if env is not os.environ and any(isinstance(key, bytes) for key in env):
        return os.get_exec_path(env)
    path = env.get("PATH")
    if path is None:
        return os.defpath.split(os.pathsep)
    return os.fsdecode(path).split(os.pathsep)


def spawn(
    argv: Sequence[str],
    *,
    stdin: int | None = None,
    stdout: int | None = None,
    stderr: int | None = None,
    env: Mapping[str, str] | None = None,
    process_group: int | None = None,
    trace: Tracer | None = None,
    sigmask: "Iterable[int] | None" = None,
    parent_death_signal: int | None = None,
) -> int:
    """Start argv as a child and return its pid once exec has succeeded.

    stdin/stdout/stderr: an fd to dup2 onto 0/1/2, or None to inherit ours.
    process_group: None stays in our group; 0 makes the child lead a new one;
    N joins group N. The child gets: SIGPIPE and SIGXFSZ back to default (Python
    ignores them), every Python-level handler back to default, and only fds
    0-2 open. Signals that were ignored when we started stay ignored, as nohup
    and shells expect. sigmask: the signal mask the child starts with (a
    supervisor that blocked signals to wait for them passes the mask it
    inherited, as tini and coreutils timeout do); None leaves the caller's.
    parent_death_signal: PR_SET_PDEATHSIG, so that the child gets this signal
    if the thread that forked it dies (SIGKILL of a runner included); set
    before exec, then getppid() is checked, so a parent that died before the
    prctl is not missed.

    Raises SpawnError (after reaping the child) when anything between fork and
    exec fails; its exit_status is 127 for a program that is not found and 126
    for one that cannot be executed.
    """
    argv = [os.fsdecode(a) for a in argv]
    if not argv:
        raise ValueError("spawn: empty argv")
    environ = os.environ if env is None else env
    candidates = _exec_candidates(argv[0], environ)
    mask = None if sigmask is None else tuple(sigmask)
    std_fds = (stdin, stdout, stderr)
    vforked = _vfork_arguments(argv, candidates, environ, std_fds, process_group, mask, parent_death_signal, trace)
    handled: list[int] = []
    death = None
    if vforked is None:
        handled = _python_handled_signals()
        if parent_death_signal is not None:
            from ._libc import prctl_function

            death = (prctl_function(), parent_death_signal, os.getpid())
    err_read, err_write = make_pipe()
    try:
        if vforked is not None:
            c_spawn, c_argv, c_candidates, envp = vforked
            pid = c_spawn(c_argv, c_candidates, envp, *(-1 if fd is None else fd for fd in std_fds),
                          -1 if process_group is None else process_group, mask,
                          -1 if parent_death_signal is None else parent_death_signal, os.getpid(), err_write, MAXFD,
                          "/" not in argv[0])
        else:
            pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child, reported via the error pipe
            _child(argv, candidates, environ, std_fds, process_group, err_write, trace, handled, mask, death)
        if trace:
            trace(f"fork() = {pid}")
        if process_group is not None:
            # Set it from both sides, as shells do, so that neither order races.
            try:
                os.setpgid(pid, pid if process_group == 0 else process_group)
            except OSError:
                pass  # the child already exec'd (EACCES) or already died (ESRCH)
        os.close(err_write)
        err_write = -1
        report = _read_all(err_read)
    finally:
        if err_write >= 0:
            os.close(err_write)
        os.close(err_read)
    if report:
        # exec never happened: reap the child first, then raise.
        _, wait_status = os.waitpid(pid, 0)
        reached, code, filename = report.split(b":", 2)
        raise SpawnError(int(code), os.fsdecode(filename), reached == b"1", pid=pid, wait_status=wait_status)
    return pid


def _vfork_arguments(argv: list[str], candidates: list[str], environ: Mapping[str, str],
                     std_fds: tuple[int | None, ...], process_group: int | None, mask: tuple[int, ...] | None,
                     parent_death_signal: int | None, trace: Tracer | None
                     ) -> tuple[Callable[..., int], list[bytes], list[bytes], list[bytes]] | None:
    """What pyipc._speedups.spawn needs, as bytes, when it can do what _child
    would: the C extension is there (pyipc._libc.speedups), nothing is traced
    (the trace is written from Python in the child), and nothing would make
    _child fail before or inside exec in a way of its own (a NUL byte, an
    empty argv[0], a bad environment name, a negative number): those go the
    forked way, which reports them as it always did."""
    if trace is not None:
        return None
    from ._libc import speedups

    helper = speedups()
    if helper is None:
        return None
    if any(fd is not None and fd < 0 for fd in std_fds) or (process_group or 0) < 0 \
            or (parent_death_signal or 0) < 0 or (mask is not None and not all(0 < s < signal.NSIG for s in mask)):
        return None
    c_argv = [os.fsencode(a) for a in argv]
    c_candidates = [os.fsencode(path) for path in candidates]
    envp = []
    for key, value in environ.items():
        name, text = os.fsencode(key), os.fsencode(value)
        if not name or b"=" in name[1:] or b"\0" in name or b"\0" in text:
            return None
        envp.append(name + b"=" + text)
    if not c_argv[0] or any(b"\0" in item for item in (*c_argv, *c_candidates)):
        return None
    return helper.spawn, c_argv, c_candidates, envp


def _read_all(fd: int) -> bytes:
    chunks: list[bytes] = []
    while True:
        chunk = os.read(fd, 4096)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def _python_handled_signals() -> list[int]:
    """Signals with a Python-level handler now. Looked up in the parent, so the
    forked child (whose every touched page is a copy) does less before exec."""
    handled = []
    for signum in range(1, signal.NSIG):
        try:
            handler = signal.getsignal(signum)
        except (ValueError, OSError):
            continue
        if callable(handler):
            handled.append(signum)
    return handled


def _child(argv: list[str], candidates: list[str], environ: Mapping[str, str],
           std_fds: tuple[int | None, int | None, int | None], process_group: int | None, err_write: int,
           trace: Tracer | None, handled: list[int], mask: tuple[int, ...] | None,
           death: tuple[Callable[..., int], int, int] | None) -> None:  # pragma: no cover
    """Between fork and exec. Always ends in exec or os._exit."""
    reached, failed_errno, failed_name = 0, errno.EINVAL, argv[0]
    try:
        if death is not None:
            prctl, signum, parent = death
            if prctl(1, signum, 0, 0, 0) != 0:  # PR_SET_PDEATHSIG
                raise OSError(errno.EINVAL, "prctl(PR_SET_PDEATHSIG)")
            if os.getppid() != parent:
                # The parent died before the prctl: nobody will send it now.
                os._exit(128 + (signum or 9))
        if trace:
            trace = trace.moved_to(fcntl.fcntl(trace.fd, fcntl.F_DUPFD_CLOEXEC, 3))
        if process_group is not None:
            os.setpgid(0, process_group)
        # Handlers run only if a signal arrives before exec; exec would reset them anyway.
        for signum in handled:
            signal.signal(signum, signal.SIG_DFL)
        for signum in (signal.SIGPIPE, signal.SIGXFSZ):
            signal.signal(signum, signal.SIG_DFL)
        # Copy every source out of 0-2 first, so that dup2 onto 0/1/2 cannot
        # overwrite a source that a later dup2 still needs.
        lifted: list[int] = []  # -1: nothing to copy (inherited, or already in place)
        for target, source in enumerate(std_fds):
            if source is None or source == target:
                lifted.append(-1)
            else:
                lifted.append(fcntl.fcntl(source, fcntl.F_DUPFD_CLOEXEC, 3))
        for target, source in enumerate(std_fds):
            if source is None:
                continue
            if source == target:
                os.set_inheritable(target, True)  # CPython issue 10806: dup2 onto itself is a no-op
            else:
                os.dup2(lifted[target], target)
            if trace:
                trace(f"dup2({source}, {target})")
        keep = sorted({err_write} | ({trace.fd} if trace else set()))
        low = 3
        for fd in keep:
            os.closerange(low, fd)
            low = fd + 1
        os.closerange(low, MAXFD)  # close_range(2) on Linux: cheap even for a huge limit
        if mask is not None:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        reached = 1
        saw_eacces = None
        for path in candidates:
            if trace and os.path.exists(path):  # the PATH misses are noise for a reader
                trace(f"execve({path!r}, {argv!r})")
            try:
                os.execve(path, argv, environ)
            except OSError as exc:
                err = exc.errno
            if err == errno.ENOEXEC:
                # A file with no #! line: run it with sh, as execvp(3) does.
                try:
                    os.execve("/bin/sh", ["sh", path, *argv[1:]], environ)
                except OSError as exc:
                    err = exc.errno
            if err == errno.EACCES:
                saw_eacces = saw_eacces or path
                continue
            if err in _TRY_NEXT and "/" not in argv[0]:  # a path names one file: its error is final
                continue
            failed_errno, failed_name = err or errno.EINVAL, path
            break
        else:
            if saw_eacces:
                failed_errno, failed_name = errno.EACCES, saw_eacces
            else:
                failed_errno, failed_name = errno.ENOENT, argv[0]
    except OSError as exc:
        failed_errno = exc.errno or errno.EINVAL
        failed_name = exc.filename if isinstance(exc.filename, str) else argv[0]
    except BaseException:
        failed_errno = errno.EINVAL
    try:
        os.write(err_write, b"%d:%d:%s" % (reached, failed_errno, os.fsencode(failed_name)))
    finally:
        os._exit(127 if failed_errno == errno.ENOENT else 126)
