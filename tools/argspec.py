"""Derive the fast argv parser's description of a command from its Typer app.

tools/gendocs.py writes the result of describe() for every command into
pyipc/commands/_argspec.py (see pyipc/commands/_argv.py for its format); tests
use typer_kwargs() to see what Typer itself passes to a command's function.
Nothing here is per command: whatever the Typer app declares is described, and
what the fast parser cannot do exactly as Typer does makes describe() return
None for that command (it then always runs through Typer; gendocs says why).
"""

from __future__ import annotations

import enum
import functools
import typing


class Unsupported(Exception):
    """The app declares something the fast parser does not do."""


def typer_command(app, *, record: bool = False):
    """The click command Typer makes of app; with record, its function is
    replaced by one that returns the keyword arguments Typer passes."""
    import typer

    from pyipc.commands._declare import App

    if not record:
        return typer.main.get_command(app.build() if isinstance(app, App) else app)
    function = app.function
    if function is None:
        raise Unsupported("not one plain command")
    app.build()  # makes the declarations real

    def recorder(**kwargs):
        return kwargs

    functools.update_wrapper(recorder, function)  # same signature, annotations and globals
    real = typer.Typer(**app._settings)
    _, args, kwargs = app._commands[0]
    real.command(*args, **kwargs)(recorder)
    return typer.main.get_command(real)


def typer_kwargs(command, prog: str, args: list[str]):
    """What Typer passes to the function for args (command from
    typer_command(record=True)), or the exception it raises."""
    try:
        return command.main(args=list(args), prog_name=prog, standalone_mode=False)
    except Exception as exc:  # a usage error, typer.Exit...: "not a run"
        return exc


def describe(prog: str, app) -> dict | None:
    try:
        return _describe(prog, app)
    except Unsupported as exc:
        import sys

        print(f"gendocs: {prog}: no fast argv path ({exc}); every run imports typer", file=sys.stderr)
        return None


def _describe(prog: str, app) -> dict:
    from pyipc.commands._declare import App

    if not isinstance(app, App) or app.function is None:
        raise Unsupported("the app is not one command made by make_app()")
    declared = app.declared()
    command = typer_command(app, record=True)
    ctx = command.make_context(prog, [], resilient_parsing=True)
    for setting in ("token_normalize_func", "ignore_unknown_options", "default_map", "auto_envvar_prefix"):
        if getattr(ctx, setting, None):
            raise Unsupported(f"context setting {setting}")
    absent = command.callback(**ctx.params)  # what the function gets when nothing is given
    hints = _hints(app.function)
    help_option = command.get_help_option(ctx)
    long, short, arguments, params = {}, {}, [], {}
    for param in command.get_params(ctx):
        if param is help_option:
            _add_names(param.opts, [None, "handover", None], long, short)
            continue
        dest = param.name
        if getattr(param, "envvar", None) or getattr(param, "prompt", None):
            raise Unsupported(f"{dest}: envvar or prompt")
        if param.callback is not None:
            if not getattr(param.callback, "inert_when_absent", False):
                raise Unsupported(f"{dest}: a callback")
            _add_names([*param.opts, *param.secondary_opts], [dest, "handover", None], long, short)
            params[dest] = {"type": ["handover"], "required": bool(param.required), "many": False,
                            "absent": _literal(absent[dest], dest)}
            continue
        if param.param_type_name == "argument":
            if param.nargs not in (1, -1):
                raise Unsupported(f"{dest}: nargs {param.nargs}")
            arguments.append([dest, param.nargs])
            many = param.nargs == -1
        else:
            if param.nargs != 1:
                raise Unsupported(f"{dest}: nargs {param.nargs}")
            many = bool(param.multiple)
            if getattr(param, "count", False):
                _add_names(param.opts, [dest, "count", None], long, short)
            elif param.is_flag:
                if param.multiple or not param.is_bool_flag:
                    raise Unsupported(f"{dest}: a repeatable or non-boolean flag")
                # Typer's TyperOption.add_to_parser: opts store True, secondary opts (--no-x) False
                _add_names(param.opts, [dest, "store_const", True], long, short)
                _add_names(param.secondary_opts, [dest, "store_const", False], long, short)
            else:
                _add_names(param.opts, [dest, "append" if many else "store", None], long, short)
        params[dest] = {"type": _type_of(param, hints.get(dest)), "required": bool(param.required), "many": many,
                        "absent": _literal(absent[dest], dest)}
    if set(params) != set(absent):
        raise Unsupported(f"parameters {sorted(set(absent) - set(params))} are not on the command line")
    return {"declared": declared, "no_args_is_help": bool(getattr(command, "no_args_is_help", False)),
            "interspersed": bool(ctx.allow_interspersed_args), "long": long, "short": short,
            "arguments": arguments, "params": params}


def _add_names(names, option, long: dict, short: dict) -> None:
    for name in names:
        if not name.startswith("-") or name[1:2] == "":
            raise Unsupported(f"option name {name!r}")
        # click's split: "-x" is a short option (clusters, -xVALUE); "--x" and "-xy" are long
        (short if len(name) == 2 and name[1] != "-" else long)[name] = option


def _type_of(param, hint) -> list:
    kind = type(param.type).__name__
    if getattr(param, "is_flag", False) or getattr(param, "count", False):
        if getattr(param, "count", False):
            return ["count"] if kind in ("IntRange", "IntParamType") else _unsupported(param, kind)
        return ["flag"]
    if kind == "StringParamType":
        return ["str"]
    if kind in ("IntParamType", "FloatParamType"):
        return ["int" if kind == "IntParamType" else "float", None, None, False, False]
    if kind in ("IntRange", "FloatRange"):
        t = param.type
        if t.clamp:
            _unsupported(param, "clamp")
        return ["int" if kind == "IntRange" else "float", t.min, t.max, bool(t.min_open), bool(t.max_open)]
    if kind in ("TyperChoice", "Choice"):
        choices = list(param.type.choices)
        enum_class = _enum_in(hint)
        if enum_class is None and not all(isinstance(c, str) for c in choices):
            _unsupported(param, "choices that are not strings")
        ref = f"{enum_class.__module__}:{enum_class.__qualname__}" if enum_class else None
        return ["choice", [str(c) for c in choices], bool(param.type.case_sensitive), ref]
    if kind == "FuncParamType":
        func = param.type.func
        if "<" in func.__qualname__:
            _unsupported(param, "a parser that is not a module-level function")
        return ["func", f"{func.__module__}:{func.__qualname__}"]
    return _unsupported(param, kind)


def _unsupported(param, what):
    raise Unsupported(f"{param.name}: type {what}")


def _enum_in(hint):
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return hint
    for inner in typing.get_args(hint):
        found = _enum_in(inner)
        if found is not None:
            return found
    return None


def _hints(function) -> dict:
    return typing.get_type_hints(function)


def _literal(value, dest: str):
    if isinstance(value, enum.Enum):
        cls = type(value)
        return {"enum": f"{cls.__module__}:{cls.__qualname__}", "value": str(value.value)}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, list) and all(v is None or isinstance(v, (bool, int, float, str)) for v in value):
        return value
    raise Unsupported(f"{dest}: default {value!r}")


def render(specs: dict) -> str:
    import pprint

    body = pprint.pformat(specs, width=120, sort_dicts=False)
    return ('"""How each command reads argv without typer: generated by tools/gendocs.py from the\n'
            "commands' Typer apps; do not edit by hand. Read by pyipc/commands/_argv.py. A\n"
            "description is used only while its \"declared\" text equals what the command module\n"
            'declares now (App.declared()); otherwise the command runs through Typer."""\n\n'
            f"SPECS = {body}\n")
