"""What every command shares: running a Typer app with coreutils-style errors.

The library raises; this module turns errors into one line on stderr
(``pipe-run: cannot open 'x': No such file or directory``) and an exit code.
Usage errors get one more line pointing to --help. No traceback for anything a
user can cause; PYIPC_DEBUG=1 shows them for everything else.
"""

from __future__ import annotations

import os
import signal
import sys

import typer

from ..errors import EXIT_FAILURE, EXIT_SIGNAL_BASE, EXIT_USAGE, UsageError

CONTEXT = {"help_option_names": ["-h", "--help"]}


def make_app(help_text: str, **context) -> typer.Typer:
    return typer.Typer(
        add_completion=False,  # completions are static files in completions/, no Python per TAB
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
        help=help_text,
        context_settings={**CONTEXT, **context},
    )


def version_option(prog: str):
    """The --version option every command has: ``prog (pyipc) X.Y.Z``."""

    def show(value: bool) -> None:
        if value:
            from .. import __version__

            print(f"{prog} (pyipc) {__version__}")
            raise typer.Exit(0)

    return typer.Option(False, "--version", callback=show, is_eager=True, help="Print the version and exit.")


class Die(Exception):
    """Raised by a command to end with ``prog: message`` and an exit code."""

    def __init__(self, message: str, code: int = EXIT_FAILURE):
        super().__init__(message)
        self.code = code


def warn(prog: str, message: str) -> None:
    """One line on stderr. Names that were not valid UTF-8 (decoded with
    surrogateescape, as Python decodes argv) go out as their original bytes."""
    _write_stderr(f"{prog}: {message}\n")


def try_help(prog: str) -> None:
    """The second line of a usage error, as coreutils writes it."""
    _write_stderr(f"Try '{prog} --help' for more information.\n")


def _write_stderr(line: str) -> None:
    try:
        if sys.stderr is None:  # started with fd 2 closed
            return
        sys.stderr.flush()
        buffer = getattr(sys.stderr, "buffer", None)
        if buffer is not None:
            buffer.write(line.encode(sys.getfilesystemencoding(), "surrogateescape"))
            buffer.flush()
        else:
            sys.stderr.write(line)
            sys.stderr.flush()
    except (OSError, ValueError, UnicodeError):
        pass  # stderr closed or gone: nothing better to do


def oserror_text(exc: OSError) -> str:
    """cannot open 'x': No such file or directory"""
    if exc.filename is not None:
        return f"'{os.fsdecode(exc.filename)}': {exc.strerror}"
    return exc.strerror or str(exc)


def die_of_signal(signum: int) -> None:
    """End the way the signal would have ended us, so a calling shell sees it
    (a shell loop stops on a child killed by SIGINT, not on ``exit 130``)."""
    _flush_quietly()
    if signum not in (signal.SIGKILL, signal.SIGSTOP):  # those two cannot be caught, blocked or reset
        signal.signal(signum, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, [signum])
    os.kill(os.getpid(), signum)
    os._exit(EXIT_SIGNAL_BASE + signum)  # only if the signal could not kill us


def _flush_quietly() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream:
                stream.flush()
        except (OSError, ValueError):
            pass


def run(app: typer.Typer, prog: str, *, usage: str | None = None, usage_code: int = EXIT_USAGE,
        failure_code: int = EXIT_FAILURE) -> None:
    """Entry point of a console script: parse, run, map every error to a code.

    usage: the synopsis after the program name, as in the man page (Typer would
    print a required argument as {STAGE...})."""
    from typer import exceptions as typer_exc  # Exit and Abort live here, not in the vendored click
    from typer._click import exceptions as click_exc  # typer 0.28 vendors click

    command = typer.main.get_command(app)
    if sys.stdout is None:  # started with fd 1 closed: fail on output, as coreutils does
        sys.stdout = _ClosedStdout()
    _hold_closed_std_fds()
    if usage:
        command.collect_usage_pieces = lambda ctx: [usage]
    interrupted = _note_keyboard_interrupts()
    code = failure_code
    try:
        try:
            returned = command.main(args=sys.argv[1:], prog_name=prog, standalone_mode=False)
            code = returned if isinstance(returned, int) else 0
        except click_exc.UsageError as exc:
            warn(prog, _usage_text(exc))
            try_help(prog)
            code = usage_code
        except UsageError as exc:
            warn(prog, str(exc))
            try_help(prog)
            code = usage_code
        except Die as exc:
            warn(prog, str(exc))
            code = exc.code
        except typer_exc.Exit as exc:  # main() returns its code in non-standalone mode; kept in case
            code = exc.exit_code
        except (typer_exc.Abort, KeyboardInterrupt):
            die_of_signal(signal.SIGINT)
        except OSError as exc:
            if os.environ.get("PYIPC_DEBUG"):
                raise
            warn(prog, oserror_text(exc))
            code = failure_code
        except Exception as exc:  # a bug of ours: one line, unless debugging
            if os.environ.get("PYIPC_DEBUG"):
                raise
            warn(prog, f"internal error: {type(exc).__name__}: {exc} (PYIPC_DEBUG=1 shows the traceback)")
            code = failure_code
        if interrupted:  # typer turns a KeyboardInterrupt into a returned 130: a shell loop needs the signal
            die_of_signal(signal.SIGINT)
        try:
            if sys.stdout is not None:  # None when we were started with fd 1 closed
                sys.stdout.flush()
        except BrokenPipeError:
            # The reader went away: no "Exception ignored" noise at shutdown.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except OSError as exc:  # ENOSPC, EIO...: the output is lost, say so
            warn(prog, f"write error: {exc.strerror}")
            code = code or failure_code
        except ValueError:
            pass
    except KeyboardInterrupt:
        die_of_signal(signal.SIGINT)
    _flush_quietly()
    # Skip interpreter teardown: freeing the ~300 modules typer loads takes
    # about 13 ms and serves nothing in a process that is about to end. The
    # commands write through os.write or the flushed std streams, and register
    # no atexit work. (run() is a console-script entry point, never a library call.)
    os._exit(code)


def _note_keyboard_interrupts() -> list:
    """Python's SIGINT handler, which also notes that it ran. In non-standalone
    mode typer returns 130 for a KeyboardInterrupt, which run() could not tell
    from a command's real status 130 (a pipeline's last stage); a shell loop
    needs the death by SIGINT. A SIGINT ignored at start stays ignored."""
    seen: list = []
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        def handler(signum, frame):
            seen.append(signum)
            raise KeyboardInterrupt

        signal.signal(signal.SIGINT, handler)
    return seen


def _hold_closed_std_fds() -> None:
    """Give each of fds 0, 1 and 2 that was closed at start-up an O_PATH
    descriptor: reading or writing it still fails with EBADF, as on a closed
    fd, but the next open() cannot take its number. Otherwise whatever is
    opened next (the signal wakeup pipe, a FIFO) becomes fd 1 and is written
    to as stdout, and its errors are reported under the wrong name."""
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            held = os.open("/", os.O_PATH | os.O_CLOEXEC)  # the lowest free number: fd itself
            if held != fd:
                os.dup2(held, fd, inheritable=False)
                os.close(held)


class _ClosedStdout:
    """Stands in for sys.stdout when fd 1 was closed at start-up (Python sets it
    to None, and print() would then silently drop the output)."""

    def write(self, text):
        import errno

        raise OSError(errno.EBADF, "write error: Bad file descriptor")

    def flush(self):
        pass

    def fileno(self):
        import errno

        raise OSError(errno.EBADF, "Bad file descriptor")


def _usage_text(exc) -> str:
    message = exc.format_message().strip().rstrip(".")
    return message[:1].lower() + message[1:] if message[1:2].islower() else message


def parse_or_usage(parser, text, option: str):
    """Run a library parser (parse_duration, parse_signal) on an option value;
    its UsageError names the option."""
    try:
        return parser(text)
    except UsageError as exc:
        raise UsageError(f"{option}: {exc}") from None
