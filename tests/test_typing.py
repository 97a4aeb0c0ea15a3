"""The package is typed for its users: mypy --strict is clean over all of
pyipc/, the command modules in pyipc/commands/ included, and the names
`import pyipc` offers are visible to type checkers.

mypy is given the package directory, not a list of modules: a new module is
checked from its first commit, and none can be left out.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys

import pytest

from conftest import ROOT

PACKAGE = "pyipc"  # the directory: mypy checks every module under it


def mypy(*args: str, cwd=ROOT, env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **(env_extra or {})}
    return subprocess.run([sys.executable, "-m", "mypy", "--no-color-output", "--no-error-summary", *args],
                          capture_output=True, text=True, timeout=300, cwd=cwd, env=env)


@pytest.mark.timeout(300)
def test_mypy_strict_is_clean_over_the_whole_package(tmp_path):
    result = mypy("--strict", "--cache-dir", str(tmp_path / "cache"), PACKAGE)
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


def test_no_module_opts_out_of_the_check():
    # Checking the whole package means nothing unless every module is read
    # as strictly as the rest: no file-level opt-out, no mypy configuration
    # that excludes or relaxes a module; every type: ignore names its error
    # code (a bare one at the top of a file would silence the whole file).
    for path in sorted((ROOT / PACKAGE).rglob("*.py*")):
        if path.suffix in (".py", ".pyi"):
            text = path.read_text()
            assert "# mypy:" not in text, path
            assert re.search(r"type:\s*ignore(?!\[)", text) is None, path
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert "[tool.mypy" not in pyproject
    assert not any((ROOT / name).exists() for name in ("mypy.ini", ".mypy.ini", "setup.cfg"))
