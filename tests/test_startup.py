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

# Heavy and never needed by a run of these commands (typer 0.29+ pulls pydantic;
# rich is for pretty help; the rest have no business in a small CLI).
FORBIDDEN = ["pydantic", "pydantic_core", "rich", "asyncio", "concurrent", "multiprocessing", "email",
             "http", "xml", "sqlite3", "numpy", "ssl", "unittest", "pytest"]


def imported_modules(stderr: bytes) -> set[str]:
    names = set()
    for line in stderr.decode(errors="replace").splitlines():
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip())
    return names


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
    assert "typer" in modules, "the import list was not captured"
    heavy = sorted(m for m in modules if m.split(".")[0] in FORBIDDEN)
    assert not heavy, f"{name} imports {heavy}"


def test_every_command_has_a_trivial_case():
    covered = {name.split()[0] for name in CASE_NAMES}
    assert covered == {"pipe-run", "sigsend", "alarm-wait", "reap-watch", "fifo-send", "fifo-recv", "mkfifo-cat"}
