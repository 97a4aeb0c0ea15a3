"""What every command shares: running a Typer app with coreutils-style errors.

The library raises; this module turns errors into one line on stderr
(``pipe-run: cannot open 'x': No such file or directory``) and an exit code.
Usage errors get one more line pointing to --help. No traceback for anything a
user can cause; PYIPC_DEBUG=1 shows them for everything else.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # typing costs start-up; type checkers read the annotations
if TYPE_CHECKING:
    from types import FrameType
    from typing import Any, Callable, TextIO, TypeVar

    Parsed = TypeVar("Parsed")

from .._signals import signal  # no enum import: see _signals
from ..errors import EXIT_FAILURE, EXIT_SIGNAL_BASE, EXIT_USAGE, UsageError
from . import _declare
from ._declare import App

CONTEXT = {"help_option_names": ["-h", "--help"]}


def make_app(help_text: str, **context: Any) -> App:
    """A Typer app, recorded: typer itself is imported only when it has work to
    do (help, a usage error, a command line the fast parser hands over)."""
    return App(
        add_completion=False,  # completions are static files in completions/, no Python per TAB
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
        help=help_text,
        context_settings={**CONTEXT, **context},
    )


def version_option(prog: str) -> Any:
    """The --version option every command has: ``prog (pyipc) X.Y.Z``."""

    def show(value: bool) -> None:
        if value:
            import typer

            from .. import __version__

            print(f"{prog} (pyipc) {__version__}")
            raise typer.Exit(0)

    # Typer calls it with False when --version is not given: nothing to do
    show.inert_when_absent = True  # type: ignore[attr-defined]  # mypy does not type a function's attributes
    return _declare.Option(False, "--version", callback=show, is_eager=True, help="Print the version and exit.")


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


def run(app: App, prog: str, *, usage: str | None = None, usage_code: int = EXIT_USAGE,
        failure_code: int = EXIT_FAILURE, hint: Callable[[Any, list[str]], str | None] | None = None) -> None:
    """Entry point of a console script: parse, run, map every error to a code.

    argv is read by the fast parser when it can (no typer import at all), and
    by Typer otherwise, which gives the same arguments (tests/test_argv.py)
    and writes help and usage errors. usage: the synopsis after the program
    name, as in the man page (Typer would print a required argument as
    {STAGE...}). hint: called with Typer's usage error (a click exception)
    and argv; what it returns is added to the message, after "; "."""
    if sys.stdout is None:  # started with fd 1 closed: fail on output, as coreutils does
        sys.stdout = _ClosedStdout()
    _hold_closed_std_fds()
    interrupted = _note_keyboard_interrupts()
    args = sys.argv[1:]
    code = failure_code
    try:
        try:
            kwargs = fast_arguments(app, prog, args)
            # app.function is not None whenever kwargs is not (fast_arguments)
            if kwargs is None or (function := app.function) is None:
                returned = _run_typer(app, prog, args, usage, hint)
            else:
                returned = _call_as_typer_does(function, kwargs)
            code = returned if isinstance(returned, int) else 0
        except UsageError as exc:  # ours, and Typer's (turned into ours by _run_typer)
            warn(prog, str(exc))
            try_help(prog)
            code = usage_code
        except Die as exc:
            warn(prog, str(exc))
            code = exc.code
        except KeyboardInterrupt:  # typer.Abort too (_run_typer)
            die_of_signal(signal.SIGINT)
        except ModuleNotFoundError as exc:
            if exc.name not in ("typer", "click") or os.environ.get("PYIPC_DEBUG"):
                raise
            # Run from a checkout (bin/) by an interpreter without our
            # dependencies: trivial runs need none, --help and usage errors do.
            warn(prog, missing_dependency_text(exc.name))
            code = failure_code
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
    # Skip interpreter teardown: freeing the modules loaded (about 300 when
    # typer is) serves nothing in a process that is about to end. The
    # commands write through os.write or the flushed std streams, and register
    # no atexit work. (run() is a console-script entry point, never a library call.)
    os._exit(code)


def missing_dependency_text(module: str) -> str:
    """What to install, when `module` (typer, or its click) is not importable."""
    checkout = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    if os.path.exists(os.path.join(checkout, "pyproject.toml")):
        how = f"{sys.executable} -m pip install -e {checkout}, or set PYTHON to an interpreter that has typer"
    else:
        how = f"{sys.executable} -m pip install pyipc"
    return f"{module} is not installed for {sys.executable}; install it with: {how}"


def fast_arguments(app: App, prog: str, args: list[str]) -> dict[str, Any] | None:
    """The function's keyword arguments read without typer, or None when
    Typer must read args: the description generated from the app is missing
    or stale (the app declares something else now), or the parser is not sure."""
    spec = _spec(app, prog)
    if spec is None:
        return None
    from ._argv import parse

    return parse(spec, args)


def _spec(app: App, prog: str) -> dict[str, Any] | None:
    if not isinstance(app, App) or app.function is None:
        return None
    try:
        from ._argspec import SPECS
    except ImportError:  # not generated yet
        return None
    spec = SPECS.get(prog)
    if spec is None or spec["declared"] != app.declared():
        return None
    return spec


def value_options(app: App, prog: str) -> set[str]:
    """Every option name that is followed by a value, from the app itself."""
    spec = _spec(app, prog)
    if spec is not None:
        return {name for names in (spec["long"], spec["short"]) for name, (_, action, _) in names.items()
                if action in ("store", "append")}
    import typer

    command = typer.main.get_command(app.real())
    return {name for param in command.params if param.param_type_name == "option"
            and not getattr(param, "is_flag", False) and not getattr(param, "count", False) for name in param.opts}


def _run_typer(app: App, prog: str, args: list[str], usage: str | None,
               hint: Callable[[Any, list[str]], str | None] | None = None) -> Any:
    """Typer reads args and calls the function; its usage errors become ours."""
    import typer

    usage_error = typer.BadParameter.__base__  # click's UsageError, which typer exports through its subclasses
    assert usage_error is not None and issubclass(usage_error, Exception)  # for type checkers: it is an exception
    command = typer.main.get_command(app.build(usage))
    try:
        return command.main(args=args, prog_name=prog, standalone_mode=False)
    except usage_error as exc:
        extra = hint(exc, args) if hint is not None else None
        raise UsageError(_usage_text(exc) + (f"; {extra}" if extra else "")) from None
    except typer.Exit as exc:  # main() returns its code in non-standalone mode; kept in case
        return exc.exit_code
    except typer.Abort:
        raise KeyboardInterrupt from None


def _call_as_typer_does(function: Callable[..., Any], kwargs: dict[str, Any]) -> Any:
    """Call the command's function with what Typer's main() adds around it in
    non-standalone mode, so that both paths end alike."""
    try:
        return function(**kwargs)
    except EOFError:  # typer: a blank line on stderr, then Abort
        _write_stderr("\n")
        raise KeyboardInterrupt from None
    except KeyboardInterrupt:
        return 130  # typer: Exit(130); run() then dies of SIGINT, as its handler noted
    except OSError as exc:
        import errno

        if exc.errno != errno.EPIPE:
            raise
        # typer (click): stdout and stderr quiet about EPIPE from now on, and exit 1
        sys.stdout, sys.stderr = _QuietOnEpipe(sys.stdout), _QuietOnEpipe(sys.stderr)
        sys.exit(1)


class _QuietOnEpipe:
    """click's PacifyFlushWrapper: a stream whose flush ignores EPIPE."""

    def __init__(self, wrapped: TextIO) -> None:
        self.wrapped = wrapped

    def flush(self) -> None:
        try:
            self.wrapped.flush()
        except OSError as exc:
            import errno

            if exc.errno != errno.EPIPE:
                raise

    def __getattr__(self, name: str) -> Any:
        return getattr(self.wrapped, name)


def _note_keyboard_interrupts() -> list[int]:
    """Python's SIGINT handler, which also notes that it ran. In non-standalone
    mode typer returns 130 for a KeyboardInterrupt, which run() could not tell
    from a command's real status 130 (a pipeline's last stage); a shell loop
    needs the death by SIGINT. A SIGINT ignored at start stays ignored."""
    seen: list[int] = []
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        def handler(signum: int, frame: FrameType | None) -> None:
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

    def write(self, text: str) -> int:
        import errno

        raise OSError(errno.EBADF, "write error: Bad file descriptor")

    def flush(self) -> None:
        pass

    def fileno(self) -> int:
        import errno

        raise OSError(errno.EBADF, "Bad file descriptor")


def _usage_text(exc: Any) -> str:
    message: str = exc.format_message().strip().rstrip(".")
    return message[:1].lower() + message[1:] if message[1:2].islower() else message


def as_typed(word: str) -> str:
    """A word as a user would type it at the shell, for a message: "ls -la"
    in double quotes where nothing in it is special there, else sh quoting."""
    if word and not any(c in word for c in '"\\$`!'):
        return f'"{word}"'
    import shlex

    return shlex.quote(word)


def parse_or_usage(parser: Callable[[str], Parsed], text: str, option: str) -> Parsed:
    """Run a library parser (parse_duration, parse_signal) on an option value;
    its UsageError names the option."""
    try:
        return parser(text)
    except UsageError as exc:
        raise UsageError(f"{option}: {exc}") from None
