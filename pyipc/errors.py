"""Exit codes and the library's exceptions: the one table every command uses.

Library code raises; only pyipc.commands turns an exception into a message and
one of these codes.
"""

import errno as _errno
import os

EXIT_OK = 0
EXIT_FAILURE = 1        # a runtime failure
EXIT_USAGE = 2          # bad command line
EXIT_SOME_FAILED = 64   # sigsend: some targets failed, others did not
EXIT_TIMEOUT = 124      # a deadline ran out (coreutils timeout)
EXIT_CANCELED = 125     # the tool's own failure, where coreutils timeout uses it
EXIT_CANNOT_INVOKE = 126  # found but could not be executed
EXIT_ENOENT = 127       # command not found
EXIT_SIGNAL_BASE = 128  # 128+N: killed by signal N


class PyipcError(Exception):
    """Base of every error the library raises on purpose."""


class UsageError(PyipcError, ValueError):
    """Bad input that a caller could have checked: a bad duration, signal, stage."""


class ShellOperatorError(UsageError):
    """A command line to be split into words (pyipc.cmdline) holds what sh
    would take as an operator, not as part of a word: an unquoted ``|``,
    ``&``, ``;``, ``<``, ``>``, ``(`` or ``)`` (or a longer operator made of
    them: ``&&``, ``>>``, ``>&``, ``|&``...), or the ``$(`` or `````` of a
    command substitution. Splitting would have passed it on as an argument, which is
    never what was meant; quoted or backslash-escaped it is an ordinary
    character. ``line``: the command line; ``token`` and ``position`` (an
    index into ``line``): the first such operator; ``operators``: every one,
    as (token, position) pairs; ``stage``: the index of the stage in a
    pipeline (set by pyipc.pipeline), else None. Callers word the advice
    (pipe-run: separate stages, -i/-o, --shell)."""

    def __init__(self, line: str, operators: list[tuple[str, int]]):
        self.line, self.operators = line, operators
        self.token, self.position = operators[0]
        self.stage: int | None = None
        what = "starts a command substitution" if self.token == "$(" else "is a shell operator"
        super().__init__(f"{self.token!r} at index {self.position} of {line!r} {what}, not part of an argument "
                         "(quote it to pass it on as an argument; sh -c runs a line that needs a shell)")


class SpawnError(PyipcError, OSError):
    """A child could not be started: setup between fork and exec, or exec itself.

    ``errno``/``strerror``/``filename`` are those of the failing call;
    ``exec_reached`` tells whether the failure was exec itself (the program is
    missing or not executable) or the setup before it (dup2, setpgid, ...).
    """

    def __init__(self, err: int, filename: str, exec_reached: bool, pid: int | None = None,
                 wait_status: int | None = None):
        super().__init__(err, os.strerror(err), filename)
        self.exec_reached = exec_reached
        self.pid = pid
        self.wait_status = wait_status

    @property
    def exit_status(self) -> int:
        """Shell-style status a shell would give this failure: 127 or 126
        (bash and coreutils timeout give 126 for ENOTDIR: /etc/passwd/x)."""
        if self.exec_reached and self.errno == _errno.ENOENT:
            return EXIT_ENOENT
        return EXIT_CANNOT_INVOKE

    @property
    def reason(self) -> str:
        """What a shell would say: 'command not found' for a PATH miss."""
        if self.exec_reached and self.errno == _errno.ENOENT and "/" not in self.filename:
            return "command not found"
        if self.errno == _errno.EACCES and os.path.isdir(self.filename):
            return "Is a directory"
        return self.strerror or os.strerror(self.errno or 0)  # always set by __init__; typeshed allows None


class SupervisionError(PyipcError, RuntimeError):
    """A supervisor that must take process-wide signals (to pass them on, or
    SIGCHLD as a subreaper) was started while other threads run: any thread
    that does not block a signal may take it. ``threads``: how many ran."""

    def __init__(self, threads: int):
        super().__init__(f"{threads} threads are running: signals cannot be passed on or waited for "
                         "(use forward_signals=False and no subreaper)")
        self.threads = threads
