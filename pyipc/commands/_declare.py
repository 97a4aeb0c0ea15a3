"""Typer declarations that cost nothing until Typer is needed.

A command module declares its interface with Typer as usual::

    from . import _declare as typer

    app = make_app("...")

    @app.command()
    def pipe_run(stages: List[str] = typer.Argument(..., metavar="STAGE..."), ...):

but ``typer.Option(...)`` and ``typer.Argument(...)`` only record their
arguments here, and ``app`` is an App that records the command. Importing the
real typer (and its click) is about four fifths of a command's start-up, so it
happens only when Typer has work to do: --help, a usage error, anything the
fast argv parser (_argv.py) is not sure of. App.build() then makes the real
typer.Typer from exactly what was recorded, so Typer stays the one definition
of every interface; tools/gendocs.py derives the fast parser's description
(_argspec.py) from that same Typer app. Any other name (typer.Exit, ...) is
the real typer's.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing costs start-up; type checkers read the annotations
if TYPE_CHECKING:
    from typing import Any, Callable, TypeVar

    import typer as _typer

    Function = TypeVar("Function", bound=Callable[..., Any])

class Declared:
    """One typer.Option(...) or typer.Argument(...) call, not yet made."""

    __slots__ = ("kind", "args", "kwargs")

    def __init__(self, kind: str, args: tuple[Any, ...], kwargs: dict[str, Any]):
        self.kind, self.args, self.kwargs = kind, args, kwargs

    def real(self) -> Any:
        import typer

        return getattr(typer, self.kind)(*self.args, **self.kwargs)

    def __repr__(self) -> str:
        return f"typer.{self.kind}{canonical((self.args, self.kwargs))}"


def Option(*args: Any, **kwargs: Any) -> Any:  # noqa: N802 (typer's name)
    return Declared("Option", args, kwargs)


def Argument(*args: Any, **kwargs: Any) -> Any:  # noqa: N802
    return Declared("Argument", args, kwargs)


def __getattr__(name: str) -> Any:
    if name.startswith("__"):  # the import system asks for __path__ and the like
        raise AttributeError(name)
    import typer

    return getattr(typer, name)


class App:
    """What make_app() returns: typer.Typer's settings and commands, recorded.
    Used where a typer.Typer is expected (typer.main.get_command(app),
    typer.testing), it builds the real one and stands for it."""

    def __init__(self, **settings: Any) -> None:
        self._settings = settings
        self._commands: list[tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]] = []
        self._defaults: list[tuple[tuple[Any, ...] | None, dict[str, Any] | None, dict[str, Any]]] = []
        # app callbacks: with one, the fast path steps aside
        self._unsupported: list[tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]] = []
        self._real: _typer.Typer | None = None

    def command(self, *args: Any, **kwargs: Any) -> Callable[[Function], Function]:
        def register(function: Function) -> Function:
            self._commands.append((function, args, kwargs))
            # as declared: build() replaces them with Typer's objects
            self._defaults.append((function.__defaults__, function.__kwdefaults__, dict(function.__annotations__)))
            return function

        return register

    def callback(self, *args: Any, **kwargs: Any) -> Callable[[Function], Function]:
        def register(function: Function) -> Function:
            self._unsupported.append((function, args, kwargs))  # an app callback: Typer parses, always
            return function

        return register

    @property
    def function(self) -> Callable[..., Any] | None:
        """The one command's function, or None when the app is not one plain command."""
        if len(self._commands) != 1 or self._unsupported:
            return None
        return self._commands[0][0]

    def build(self, usage: str | None = None) -> _typer.Typer:
        """The real typer.Typer. usage: the synopsis after the program name in
        --help (the man page's), instead of Typer's from the metavars."""
        import typer

        real = typer.Typer(**self._settings)
        for callback, args, kwargs in self._unsupported:
            _make_real(callback)
            real.callback(*args, **kwargs)(callback)
        for function, args, kwargs in self._commands:
            _make_real(function)
            if usage is not None:
                kwargs = {"cls": _with_usage(usage), **kwargs}
            real.command(*args, **kwargs)(function)
        return real

    def declared(self) -> str:
        """Everything recorded, as one stable string: _argspec.py keeps the one
        its description was generated from, and run() uses the fast path only
        while they are equal, so a stale description is never used."""
        parts = [canonical(self._settings)]
        for (function, args, kwargs), (defaults, kwdefaults, hints) in zip(self._commands, self._defaults):
            code = function.__code__
            names = code.co_varnames[:code.co_argcount + code.co_kwonlyargcount]
            parts.append(canonical((function.__module__, function.__qualname__, names, hints,
                                    defaults, kwdefaults, args, kwargs)))
        return "\n".join(parts)

    def real(self) -> _typer.Typer:
        """The real typer.Typer this app stands for, built once."""
        if self._real is None:
            self._real = self.build()
        return self._real

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.real(), name)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.real()(*args, **kwargs)


def _make_real(function: Callable[..., Any]) -> None:
    """Replace recorded declarations in the function's defaults by Typer's, and
    evaluate its annotations (strings: from __future__ import annotations) for
    Typer: with typing's names, which command modules import only for type
    checkers (typing costs start-up), and with the real typer for the module's
    name typer (Annotated[int, typer.Option(...)])."""
    hints = function.__annotations__
    if any(isinstance(a, str) for a in hints.values()):
        import typing

        import typer

        namespace = {**{name: getattr(typing, name) for name in typing.__all__}, **function.__globals__,
                     "typer": typer}
        function.__annotations__ = {name: eval(a, namespace) if isinstance(a, str) else a
                                    for name, a in hints.items()}
    if function.__defaults__:
        function.__defaults__ = tuple(d.real() if isinstance(d, Declared) else d for d in function.__defaults__)
    if function.__kwdefaults__:
        function.__kwdefaults__ = {k: d.real() if isinstance(d, Declared) else d
                                   for k, d in function.__kwdefaults__.items()}


def _with_usage(usage: str) -> type[Any]:
    """A Typer command class whose usage line is the given synopsis (click's
    documented way: override collect_usage_pieces in a Command subclass,
    passed with cls=)."""
    from typer.core import TyperCommand

    class Command(TyperCommand):
        def collect_usage_pieces(self, ctx: Any) -> list[str]:
            return [usage]

    return Command


def canonical(value: Any) -> str:
    """A repr that is the same in every process (no addresses)."""
    if isinstance(value, Declared):
        return repr(value)
    if isinstance(value, (list, tuple)):
        inner = ", ".join(canonical(v) for v in value)
        return f"[{inner}]" if isinstance(value, list) else f"({inner})"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{canonical(k)}: {canonical(v)}" for k, v in value.items()) + "}"
    if isinstance(value, type) or (callable(value) and hasattr(value, "__qualname__")):
        return f"<{getattr(value, '__module__', '?')}.{value.__qualname__}>"
    return repr(value)
