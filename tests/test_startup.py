"""Start-up stays lean: no command imports heavy modules it does not need.

This checks what each command imports while doing trivial real work (the
same runs bench/bench_startup.py times); it never asserts a time.
"""

import os
import sys

import pytest

from conftest import ROOT, SCRIPTS

sys.path.insert(0, str(ROOT / "bench"))
from startup_cases import trivial_cases  # noqa: E402

# Heavy and never needed by a trivial run of these commands: typer and its click
# are for --help and usage errors only (issue 13: argv is read from the
# description gendocs derives from the Typer apps); typer 0.29+ pulls pydantic;
# rich is for pretty help; typing alone costs about 4 ms (command modules import
# it for type checkers only); the rest have no business in a small CLI.
# re (about a sixth of `python -c pass`): the launchers in scripts/ are not
# pip's console-script wrapper, which imports it, and pyipc reads numbers,
# names and durations with str methods (re only for rare spellings such as
# '1e3' or '0x10', and on the way to some usage errors).
FORBIDDEN = ["typer", "click", "typing", "pydantic", "pydantic_core", "rich", "asyncio", "concurrent", "multiprocessing",
             "email", "http", "xml", "sqlite3", "numpy", "ssl", "unittest", "pytest", "re"]


def imported_modules(stderr: bytes) -> set[str]:
    """What the command imported, from its -X importtime lines: not what
    the interpreter imported before it (site, and the .pth files an editable
    install adds, which import re), which `python -c pass` pays too."""
    names = set()
    for line in stderr.decode(errors="replace").splitlines():
        if line.startswith("import time:") and "|" in line:
            name = line.rsplit("|", 1)[1]
            if name == " site":  # site itself, imported last of the interpreter's start-up
                names.clear()
            else:
                names.add(name.strip())
    return names


# What a trivial run must not import either, although an editable install's .pth
# (this venv's) imports most of them before any command code runs: hence the
# run without site below. signal builds three enums at import (enum, with
# functools, collections, operator and types: about 0.4x `python -c pass`); the
# commands use _signal (pyipc/_signals.py), the library's enums are made on
# first use (pyipc/_enums.py), and contextlib, ctypes, math, struct and
# warnings (os.get_exec_path imports it) are each left to the rare paths
# that need them.
NOT_ON_THE_HOT_PATH = ["signal", "enum", "functools", "collections", "contextlib", "ctypes", "warnings", "math",
                       "struct", "importlib", "pyipc._enums"]


def without_site(case):
    """The case run by `python -S` with this checkout first on the path: the
    interpreter then imports only what it needs to start, so every module the
    command imports shows in the -X importtime list (in a venv with an
    editable install, the .pth has imported re, enum, functools, collections,
    contextlib, warnings and importlib before, and those would not show)."""
    from startup_cases import Case

    return Case(case.name, [sys.executable, "-S", *case.argv], case.before, case.during)


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    with trivial_cases(SCRIPTS, tmp_path_factory.mktemp("startup")) as found:
        yield {case.name: case for case in found}


CASE_NAMES = ["pipe-run true", "sigsend 0 PID", "alarm-wait 0", "reap-watch true", "fifo-send PATH hello",
              "fifo-recv --count 1 PATH", "mkfifo-cat --once PATH"]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("name", CASE_NAMES)
def test_trivial_run_imports_nothing_heavy(cases, name):
    env = {**os.environ, "PYTHONPROFILEIMPORTTIME": "1"}
    result = cases[name].run_once(env=env)
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    modules = imported_modules(result.stderr)
    assert "pyipc.commands._cli" in modules, "the import list was not captured"
    heavy = sorted(m for m in modules if m.split(".")[0] in FORBIDDEN)
    assert not heavy, f"{name} imports {heavy}"


@pytest.mark.timeout(60)
@pytest.mark.parametrize("name", CASE_NAMES)
def test_trivial_run_imports_no_enum_nor_what_the_rare_paths_need(cases, name):
    env = {**{k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"},  # which would import warnings
           "PYTHONPROFILEIMPORTTIME": "1", "PYTHONPATH": str(ROOT)}
    result = without_site(cases[name]).run_once(env=env)
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    modules = {line.rsplit("|", 1)[1].strip() for line in result.stderr.decode(errors="replace").splitlines()
               if line.startswith("import time:") and "|" in line}
    assert "pyipc.commands._cli" in modules and "encodings" in modules, "the import list was not captured"
    heavy = sorted(m for m in modules if m.split(".")[0] in FORBIDDEN + NOT_ON_THE_HOT_PATH or m in NOT_ON_THE_HOT_PATH)
    assert not heavy, f"{name} imports {heavy}"


def test_every_command_has_a_trivial_case():
    covered = {name.split()[0] for name in CASE_NAMES}
    assert covered == {"pipe-run", "sigsend", "alarm-wait", "reap-watch", "fifo-send", "fifo-recv", "mkfifo-cat"}


# Common forms of each command, run for real: options with values, --opt=value,
# clustered short options, --, repeated options, negative numbers after --.
COMMON_FORMS = [
    ["pipe-run", "--timeout=5", "-k1", "-s", "TERM", "--report", "json", "--pipefail", "true", "cat"],
    ["alarm-wait", "-k1", "-sKILL", "--verbose", "0", "--", "true", "-5"],
    ["alarm-wait", "--every", "0.01", "--count=2", "1"],
    ["reap-watch", "--json", "--group", "--grace=1s", "true", "true"],
    ["sigsend", "--", "0", "{pid}", "{pid}"],
    ["sigsend", "-l", "143"],
]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("argv", COMMON_FORMS, ids=lambda argv: " ".join(argv))
def test_common_forms_import_no_typer(argv):
    import subprocess

    args = [str(SCRIPTS / argv[0]), *(a.format(pid=os.getpid()) for a in argv[1:])]
    result = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, timeout=30,
                            env={**os.environ, "PYTHONPROFILEIMPORTTIME": "1"})
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    modules = imported_modules(result.stderr)
    assert "pyipc.commands._cli" in modules, "the import list was not captured"
    heavy = sorted(m for m in modules if m.split(".")[0] in FORBIDDEN)
    assert not heavy, f"{argv} imports {heavy}"
