"""The library is typed for its users: mypy --strict is clean over the modules
listed here, and the names `import pyipc` offers are visible to type checkers.

STRICT grows as modules are typed: every library module is in it; the command
modules (pyipc/commands/, Typer adapters whose parameters are declared for
Typer) are not yet.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys

import pytest

from conftest import ROOT

STRICT = [
    "pyipc/__init__.py", "pyipc/_record.py", "pyipc/cmdline.py", "pyipc/durations.py", "pyipc/errors.py",
    "pyipc/framing.py", "pyipc/integers.py", "pyipc/outputs.py", "pyipc/ready.py", "pyipc/signames.py",
    "pyipc/status.py", "pyipc/fifo", "pyipc/__main__.py", "pyipc/commands/completion.py",
    "pyipc/_libc.py", "pyipc/deadlines.py", "pyipc/pipeline.py", "pyipc/procfs.py", "pyipc/reaping.py",
    "pyipc/sending.py", "pyipc/sigblock.py", "pyipc/spawn.py", "pyipc/supervise.py",
]


def mypy(*args: str, cwd=ROOT, env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **(env_extra or {})}
    return subprocess.run([sys.executable, "-m", "mypy", "--no-color-output", "--no-error-summary", *args],
                          capture_output=True, text=True, timeout=300, cwd=cwd, env=env)


@pytest.mark.timeout(300)
def test_mypy_strict_is_clean_over_the_typed_modules(tmp_path):
    # follow-imports=silent: the modules not typed yet are read for their
    # types but their own errors are not reported here.
    result = mypy("--strict", "--follow-imports=silent", "--cache-dir", str(tmp_path / "cache"), *STRICT)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.timeout(300)
def test_a_user_of_the_package_sees_its_names_and_types(tmp_path):
    user = tmp_path / "user.py"
    user.write_text(
        "import pyipc\n"
        "from pyipc import ExitStatus, parse_duration\n"
        "from pyipc.fifo import FifoReader\n"
        "status = ExitStatus.from_wait_status(0)\n"
        "code: int = status.shell_status\n"
        "seconds: float = parse_duration('1.5m')\n"
        "reader_take = FifoReader.take\n"
        "wrong: str = parse_duration('1')\n"      # line 8: a float is not a str
        "pyipc.no_such_name\n"                    # line 9: not a public name
    )
    result = mypy("--strict", "--follow-imports=silent", "--cache-dir", str(tmp_path / "cache"), str(user),
                  cwd=tmp_path, env_extra={"MYPYPATH": str(ROOT)})
    errors = [line for line in result.stdout.splitlines() if ": error:" in line]
    assert [line.split(":")[1] for line in errors] == ["8", "9"], result.stdout + result.stderr
    assert 'incompatible types in assignment (expression has type "float", variable has type "str")' in errors[0].lower()
    assert 'has no attribute "no_such_name"' in errors[1]


def test_type_checkers_see_the_same_names_as_the_lazy_loader():
    import pyipc

    tree = ast.parse((ROOT / "pyipc" / "__init__.py").read_text())
    checked = {alias.asname for node in ast.walk(tree) if isinstance(node, ast.If)
               and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"
               for stmt in node.body if isinstance(stmt, ast.ImportFrom) for alias in stmt.names}
    assert checked == set(pyipc._LAZY)
    for name, module in pyipc._LAZY.items():
        assert getattr(pyipc, name).__module__ == module, name


def test_the_package_says_it_is_typed():
    assert (ROOT / "pyipc" / "py.typed").exists()
    assert (ROOT / "pyipc" / "_speedups.pyi").exists()


def test_every_library_module_is_checked():
    # A new library module joins STRICT (typed) or says here why not.
    library = {f"pyipc/{path.name}" for path in (ROOT / "pyipc").glob("*.py")} | {"pyipc/fifo"}
    assert library - set(STRICT) == set()
