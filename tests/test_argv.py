"""The fast argv parser (pyipc/commands/_argv.py) gives the function exactly
what Typer gives it, or hands the command line over to Typer.

For every command, command lines are generated from its description (every
option name, --opt=value, clustered short options, values that are numbers,
negative numbers, choices, --, garbage) and parsed both ways; a fast result
must equal Typer's, and a command line Typer refuses must have been handed
over. The common forms scripts write must take the fast path. The description
itself must be what tools/gendocs.py derives from the Typer apps today.
"""

import importlib
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import ROOT

sys.path.insert(0, str(ROOT / "tools"))
import argspec  # noqa: E402
import gendocs  # noqa: E402

from pyipc.commands import _argspec  # noqa: E402
from pyipc.commands._argv import parse  # noqa: E402
from pyipc.commands._cli import fast_arguments, value_options  # noqa: E402

COMMANDS = dict(gendocs.commands())
PROGS = list(COMMANDS)


def app_of(prog):
    return importlib.import_module(COMMANDS[prog]).app


_recorders = {}


def typer_gives(prog, args):
    """What Typer passes to prog's function for args, or the exception it raises."""
    if prog not in _recorders:
        _recorders[prog] = argspec.typer_command(app_of(prog), record=True)
    return argspec.typer_kwargs(_recorders[prog], prog, args)


def spec_of(prog):
    return _argspec.SPECS[prog]


@pytest.mark.parametrize("prog", PROGS)
def test_every_command_has_a_current_description(prog):
    spec = argspec.describe(prog, app_of(prog))
    assert spec is not None, f"{prog} has no fast path (gendocs says why)"
    assert _argspec.SPECS.get(prog) == spec, "stale: run python tools/gendocs.py"


def test_a_stale_description_is_never_used(monkeypatch):
    app = app_of("pipe-run")
    assert fast_arguments(app, "pipe-run", ["true"]) is not None
    monkeypatch.setitem(_argspec.SPECS, "pipe-run", {**spec_of("pipe-run"), "declared": "something else"})
    assert fast_arguments(app, "pipe-run", ["true"]) is None
    monkeypatch.delitem(_argspec.SPECS, "pipe-run")
    assert fast_arguments(app, "pipe-run", ["true"]) is None


def _sample_value(param):
    kind = param["type"]
    if kind[0] == "choice":
        return kind[1][-1]
    if kind[0] in ("int", "float"):
        low = kind[1]
        return str(int(low) + 1 if low is not None else 3)
    return "-x1"  # a value that looks like an option is still a value


def common_forms(prog):
    """For each option: --opt VALUE, --opt=VALUE, -o VALUE, -oVALUE, repeated;
    all short flags clustered; -- before the arguments; with just enough
    arguments to be valid for the parser."""
    spec = spec_of(prog)
    args = []
    for dest, nargs in spec["arguments"]:
        if spec["params"][dest]["required"] or not args:
            args.append("-5" if nargs == -1 else "a")  # after --: a negative number is an argument
    if spec["arguments"] and spec["arguments"][-1][1] == -1:
        args.append("-1")
    forms = [["--", *args]] if args and not args[0].startswith("-") else []
    forms.append(["--", *args])
    for table in (spec["long"], spec["short"]):
        for name, (dest, action, _) in table.items():
            if action == "handover":
                continue
            if action in ("store", "append"):
                value = _sample_value(spec["params"][dest])
                forms.append([name, value, "--", *args])
                forms.append([name, value, name, value, "--", *args])  # repeated: the last wins, or all
                forms.append([f"{name}={value}" if name.startswith("--") else f"{name}{value}", "--", *args])
            else:
                forms.append([name, name, "--", *args])
    flags = [name[1] for name, (_, action, _) in spec["short"].items() if action == "store_const"]
    valued = [name[1] for name, (_, action, _) in spec["short"].items() if action in ("store", "append")]
    if flags:
        forms.append(["-" + "".join(flags), "--", *args])
    if flags and valued:
        forms.append(["-" + "".join(flags) + valued[0] + "1", "--", *args])
    return forms


@pytest.mark.parametrize("prog", PROGS)
def test_common_forms_take_the_fast_path_and_agree_with_typer(prog):
    forms = common_forms(prog)
    assert len(forms) >= 4
    for args in forms:
        fast = parse(spec_of(prog), args)
        assert fast is not None, f"{prog} {args} handed over"
        assert typer_gives(prog, args) == fast, args


TYPICAL = {
    "pipe-run": [["true"], ["--timeout", "2", "-k1", "--report", "json", "sleep 10", "cat"],
                 ["--timeout=2", "-s", "INT", "-i", "in", "-o", "out", "a", "b"], ["a", "--pipefail", "b"]],
    "sigsend": [["0", "123"], ["--", "TERM", "-4321"], ["--wait", "5", "--escalate", "KILL", "TERM", "1", "2"],
                ["-l", "143"], ["--queue", "-5", "RTMIN+1", "1"], ["--pidfile", "a", "--pidfile", "b", "TERM"]],
    "alarm-wait": [["0"], ["-k1", "-sKILL", "1m", "--", "make", "-j2"], ["--every", "1", "--count", "3"],
                   ["--until=USR1", "30"], ["10", "sh", "-c", "exit 3"]],
    "reap-watch": [["true"], ["--pid", "1", "--pid", "2", "--timeout", "1m"], ["--wait-all", "--json", "a", "b"],
                   ["--zombies"], ["-o", "log", "--group", "--grace", "10s", "make"]],
    "fifo-send": [["p", "hello"], ["-f", "nul", "--timeout", "5", "p"], ["--no-wait", "--create", "-m600", "p", "a"],
                  ["p", "--", "-x"]],
    "fifo-recv": [["--count", "1", "p"], ["-n1", "--json", "p"], ["--framing=length", "--follow", "p"],
                  ["--timeout", "0", "--create", "--keep", "p"]],
    "mkfifo-cat": [["--once", "p"], ["-m", "644", "--timeout", "30s", "p"], ["--keep", "--", "-p"]],
}


@pytest.mark.parametrize("prog", PROGS)
def test_typical_command_lines_take_the_fast_path(prog):
    for args in TYPICAL[prog]:
        fast = parse(spec_of(prog), args)
        assert fast is not None, f"{prog} {args} handed over"
        assert typer_gives(prog, args) == fast, args


@pytest.mark.parametrize("prog", PROGS)
def test_help_version_and_errors_are_handed_over(prog):
    for args in (["--help"], ["-h"], ["--version"], ["--no-such-option"], ["-Z"]):
        assert parse(spec_of(prog), args) is None, args
        assert not isinstance(typer_gives(prog, args), dict) or args[0] in ("--help", "-h", "--version")


def test_value_options_come_from_the_app():
    assert value_options(app_of("alarm-wait"), "alarm-wait") >= {"-s", "--signal", "-k", "--kill-after", "--until"}
    assert "--foreground" not in value_options(app_of("alarm-wait"), "alarm-wait")
    assert value_options(app_of("sigsend"), "sigsend") >= {"--pidfile", "--queue", "--wait", "--escalate"}
    assert "-l" not in value_options(app_of("sigsend"), "sigsend")


def command_lines(prog):
    """Mostly well-formed (options with values in every spelling, then -- or not,
    then arguments), some shuffled, some random tokens."""
    spec = spec_of(prog)
    names = sorted(spec["long"]) + sorted(spec["short"])
    shorts = [name[1] for name in spec["short"]]
    values = set()
    for param in spec["params"].values():
        if param["type"][0] == "choice":
            values.update(param["type"][1])
    values.update(["0", "1", "-1", "-5", "+3", "1.5", "1_0", " 7", "\u0663", "abc", "TERM", "x=y", "-", "--", "",
                   "-x1", "=", "--=", "1e3"])
    value = st.sampled_from(sorted(values)) | st.text(alphabet="-=1aZ .", max_size=5)
    required = sum(spec["params"][dest]["required"] for dest, _ in spec["arguments"])

    def option(name):
        dest, action, _ = (spec["long"].get(name) or spec["short"][name])
        if action not in ("store", "append"):
            return st.just([name])
        joined = f"{name}={{}}" if name.startswith("--") else f"{name}{{}}"
        return st.one_of(value.map(lambda v: [name, v]), value.map(lambda v: [joined.format(v)]))

    options = st.sampled_from(names).flatmap(option)
    cluster = (st.builds(lambda cs, v: ["-" + "".join(cs) + v],
                         st.lists(st.sampled_from(shorts), min_size=1, max_size=3), value | st.just(""))
               if shorts else options)
    well_formed = st.builds(lambda opts, dd, positional: [t for o in opts for t in o] + (["--"] if dd else []) + positional,
                            st.lists(options | cluster, max_size=5), st.booleans(),
                            st.lists(value, min_size=required, max_size=required + 1))
    shuffled = well_formed.flatmap(st.permutations)
    random_tokens = st.lists(st.sampled_from(names) | value | cluster.map(lambda c: c[0]), max_size=8)
    return st.one_of(well_formed, well_formed, shuffled, random_tokens)


STATS = {}


@pytest.mark.timeout(300)
@pytest.mark.parametrize("prog", PROGS)
def test_generated_command_lines_parse_alike_or_are_handed_over(prog):
    seen = STATS.setdefault(prog, {"fast": 0, "handed over": 0})

    @settings(max_examples=1000, deadline=None, database=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(command_lines(prog))
    def check(args):
        fast = parse(spec_of(prog), args)
        if fast is None:
            seen["handed over"] += 1
            return
        seen["fast"] += 1
        slow = typer_gives(prog, args)
        assert slow == fast, f"{prog} {args}: Typer gives {slow!r}, the fast parser {fast!r}"

    check()
    # Both branches were exercised: the comparison above is not vacuous.
    assert seen["fast"] >= 50 and seen["handed over"] >= 50, seen


# The parser is generic: an interface the commands do not have yet (ints with
# a range, floats, --x/--no-x, a count, a repeatable int, a parser=, a
# required argument after a variadic one) is described and parsed alike too.

import enum as _enum  # noqa: E402

TYPE_CHECKING = False
if TYPE_CHECKING:  # as in the command modules: the annotations are strings that only Typer evaluates
    from typing import Annotated, List, Optional

    import typer

from pyipc.commands import _declare  # noqa: E402
from pyipc.commands._cli import make_app  # noqa: E402


class Colour(str, _enum.Enum):
    red = "red"
    blue = "blue"


def parse_pair(text: str) -> tuple:
    left, right = text.split(":")
    return (left, int(right))


synthetic = make_app("A command that does not exist.")


@synthetic.command()
def synthetic_command(
    first: str = _declare.Argument(..., metavar="FIRST"),
    middle: "Optional[List[str]]" = _declare.Argument(None, metavar="MIDDLE..."),
    last: str = _declare.Argument(..., metavar="LAST"),
    level: int = _declare.Option(2, "-n", "--level", min=0, max=9),
    ratio: "Optional[float]" = _declare.Option(None, "--ratio"),
    colour: Colour = _declare.Option(Colour.red, "-c", "--colour"),
    loud: bool = _declare.Option(True, "--loud/--quiet", "-L/-Q"),
    verbose: int = _declare.Option(0, "-v", count=True),
    ports: "Optional[List[int]]" = _declare.Option(None, "-p", "--port"),
    pair: "Optional[tuple]" = _declare.Option(None, "--pair", parser=parse_pair),
    tag: "Annotated[Optional[str], typer.Option('--tag', '-t')]" = None,  # Typer's other style
):
    raise AssertionError("never called: the tests record what Typer passes")


def test_a_richer_interface_is_described():
    spec = argspec.describe("synthetic", synthetic)
    assert spec is not None
    assert spec["arguments"] == [["first", 1], ["middle", -1], ["last", 1]]
    assert spec["short"]["-v"][1] == "count" and spec["long"]["--quiet"] == ["loud", "store_const", False]
    assert spec["params"]["pair"]["type"] == ["func", f"{__name__}:parse_pair"]
    assert spec["short"]["-t"] == ["tag", "store", None] and spec["params"]["tag"]["absent"] is None


@pytest.mark.timeout(300)
def test_a_richer_interface_parses_alike_or_is_handed_over(monkeypatch):
    spec = argspec.describe("synthetic", synthetic)
    monkeypatch.setitem(_argspec.SPECS, "synthetic", spec)
    recorder = argspec.typer_command(synthetic, record=True)
    seen = {"fast": 0, "handed over": 0}
    for args in (["a", "b"], ["-vvv", "-Q", "-n9", "-c", "blue", "a", "m1", "m2", "b"],
                 ["--port", "1", "-p2", "--pair", "x:3", "--ratio=-1.5", "-tx", "--", "-a", "-b"]):
        assert parse(spec, args) == argspec.typer_kwargs(recorder, "synthetic", args), args

    @settings(max_examples=1000, deadline=None, database=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(command_lines("synthetic"))
    def check(args):
        fast = parse(spec, args)
        if fast is None:
            seen["handed over"] += 1
            return
        seen["fast"] += 1
        slow = argspec.typer_kwargs(recorder, "synthetic", args)
        assert slow == fast, f"{args}: Typer gives {slow!r}, the fast parser {fast!r}"

    check()
    assert seen["fast"] >= 50 and seen["handed over"] >= 50, seen
