"""Read argv without Typer, from the description tools/gendocs.py derived from it.

parse() does what Typer's click parser and Typer's conversions do for the
command lines scripts write (options with values, --opt=value, clustered short
options such as -k1, --, repeated options, negative numbers after --) and
returns the keyword arguments Typer would pass to the command's function. For
anything else (--help, --version, an unknown option, a missing or extra
argument, a value it cannot convert exactly as click would) it returns None,
and Typer does the job, with its own messages. tests/test_argv.py checks on
generated command lines that both give the same arguments.

The description (one dict per command, in _argspec.py):
  options:    name -> [dest, action, const]; action: store (one value, the last
              wins), append (repeatable), store_const (a flag: const), count,
              handover (--help, --version: Typer's job)
  arguments:  [[dest, nargs], ...] in order; nargs -1 takes what is left
  params:     dest -> {"type": [...], "required": bool, "many": bool, "absent": value}
              "absent" is what the function gets when the parameter is not given;
              {"enum": "module:Class", "value": v} stands for a member of an Enum
  interspersed: options may follow arguments (click's allow_interspersed_args)
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # typing costs start-up; type checkers read the annotations
if TYPE_CHECKING:
    from typing import Any

    Spec = dict[str, Any]  # one command's description, as in _argspec.py


class _HandOver(Exception):
    """Typer must decide: a usage error, help, or a case not described."""


def parse(spec: Spec, args: list[str]) -> dict[str, Any] | None:
    """The function's keyword arguments for args, or None: hand over to Typer."""
    try:
        found, positional = _scan(spec, args)
        for (dest, nargs), value in zip(spec["arguments"], _unpack(positional, [n for _, n in spec["arguments"]])):
            if value is not None:
                found[dest] = list(value) if nargs == -1 else value
        return {dest: _value(param, found[dest]) if dest in found else _absent(param)
                for dest, param in spec["params"].items()}
    except _HandOver:
        return None


def _scan(spec: Spec, args: list[str]) -> tuple[dict[str, Any], list[str]]:
    """click's OptionParser._process_args_for_options, on the description."""
    if not args and spec["no_args_is_help"]:
        raise _HandOver
    long_options, short_options = spec["long"], spec["short"]
    found: dict[str, Any] = {}
    largs: list[str] = []
    rargs = list(args)
    while rargs:
        arg = rargs.pop(0)
        if arg == "--":
            break
        if arg[:1] == "-" and len(arg) > 1:
            name, explicit = arg.split("=", 1) if "=" in arg else (arg, None)
            option = long_options.get(name)
            if option is not None:
                if option[1] in ("store", "append"):
                    if explicit is not None:
                        rargs.insert(0, explicit)
                    _store(found, option, _next_value(rargs))
                elif explicit is not None:
                    raise _HandOver  # "option does not take a value"
                else:
                    _store(found, option, None)
                continue
            if arg[:2] == "--":
                raise _HandOver  # no such option
            for i, char in enumerate(arg[1:], 2):  # -abc, -k1: short options, clustered
                option = short_options.get("-" + char)
                if option is None:
                    raise _HandOver
                if option[1] in ("store", "append"):
                    if i < len(arg):
                        rargs.insert(0, arg[i:])
                    _store(found, option, _next_value(rargs))
                    break
                _store(found, option, None)
        elif spec["interspersed"]:
            largs.append(arg)
        else:
            rargs.insert(0, arg)
            break
    return found, largs + rargs


def _next_value(rargs: list[str]) -> str:
    if not rargs:
        raise _HandOver  # "option requires an argument"
    return rargs.pop(0)


def _store(found: dict[str, Any], option: list[Any], value: str | None) -> None:
    dest, action, const = option
    if action == "store":
        found[dest] = value
    elif action == "append":
        found.setdefault(dest, []).append(value)
    elif action == "store_const":
        found[dest] = const
    elif action == "count":
        found[dest] = found.get(dest, 0) + 1
    else:  # handover, or an action this parser does not know
        raise _HandOver


def _unpack(args: list[str], nargs_spec: list[int]) -> list[str | tuple[str, ...] | None]:
    """click's _unpack_args for nargs 1 and -1: one value each (None when
    missing), the -1 one takes what the others leave (None when nothing); an
    argument left over is an error (Typer says which)."""
    if any(n not in (1, -1) for n in nargs_spec) or nargs_spec.count(-1) > 1:
        raise _HandOver
    if -1 not in nargs_spec:
        if len(args) > len(nargs_spec):
            raise _HandOver  # "Got unexpected extra argument"
        return [args[i] if i < len(args) else None for i in range(len(nargs_spec))]
    before = nargs_spec.index(-1)
    after = len(nargs_spec) - before - 1
    head = [args[i] if i < len(args) else None for i in range(before)]  # taken first, from the left
    rest = args[before:]
    if len(rest) < after:
        raise _HandOver  # click would leave some of the last ones None; Typer decides
    return [*head, tuple(rest[:len(rest) - after]) or None, *rest[len(rest) - after:]]


def _value(param: dict[str, Any], raw: Any) -> Any:
    if param["many"]:
        return [_convert(param["type"], item) for item in raw]
    return _convert(param["type"], raw)


def _convert(kind: list[Any], raw: Any) -> Any:
    """click's type conversion, then Typer's (an Enum member for a choice)."""
    name = kind[0]
    if name in ("str", "flag", "count"):
        return raw
    if name in ("int", "float"):
        try:
            value = (int if name == "int" else float)(raw)
        except (ValueError, TypeError):
            raise _HandOver from None
        low, high, low_open, high_open = kind[1:5]
        if low is not None and (value <= low if low_open else value < low):
            raise _HandOver
        if high is not None and (value >= high if high_open else value > high):
            raise _HandOver
        return value
    if name == "choice":
        choices, case_sensitive, enum = kind[1:4]
        if raw not in choices:
            raise _HandOver  # or a case-insensitive match: click picks which choice
        if not case_sensitive and sum(c.casefold() == raw.casefold() for c in choices) != 1:
            raise _HandOver
        if enum is None:
            return raw
        return _enum_member(enum, raw)
    if name == "func":
        try:
            return _attribute(kind[1])(raw)
        except Exception:
            raise _HandOver from None  # Typer calls it again and reports as it does
    raise _HandOver


def _absent(param: dict[str, Any]) -> Any:
    if param["required"]:
        raise _HandOver  # "Missing argument"
    value = param["absent"]
    if isinstance(value, dict):
        return _enum_member(value["enum"], value["value"])
    return list(value) if isinstance(value, list) else value


def _enum_member(ref: str, text: str) -> Any:
    """Typer's conversion: the member whose str(value) is text."""
    for member in _attribute(ref):
        if str(member.value) == text:
            return member
    raise _HandOver


def _attribute(ref: str) -> Any:
    module, _, qualname = ref.partition(":")
    if module not in sys.modules:
        import importlib

        importlib.import_module(module)
    value = sys.modules[module]
    for part in qualname.split("."):
        value = getattr(value, part)
    return value
