"""docs/library.md: every example runs, and every public name is documented.

Each ```python block runs in a fresh interpreter (the examples change signal
masks and make the process a child subreaper: nothing leaks into pytest), in
its own temporary directory, and must exit 0 with its asserts."""

from __future__ import annotations

import importlib
import inspect
import re
import subprocess
import sys

import pytest

from conftest import ROOT

DOC = ROOT / "docs" / "library.md"
EXAMPLES = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)
# Modules without an __all__: their public functions, classes and constants.
MODULES = ["pyipc.pipeline", "pyipc.spawn", "pyipc.status", "pyipc.errors", "pyipc.cmdline", "pyipc.durations",
           "pyipc.integers", "pyipc.signames", "pyipc.sending", "pyipc.sigblock", "pyipc.deadlines", "pyipc.reaping",
           "pyipc.procfs", "pyipc.supervise", "pyipc.outputs", "pyipc.ready", "pyipc.fifo", "pyipc.framing",
           "pyipc.errstream", "pyipc.labels", "pyipc.progress"]


def test_there_is_an_example_for_each_of_pipelines_fifos_deadlines_and_reaping():
    text = "\n".join(EXAMPLES)
    for used in ("run_pipeline(", "open_fifo(", "Deadline(", "Reaper("):
        assert used in text, used


@pytest.mark.timeout(60)
@pytest.mark.parametrize("index", range(len(EXAMPLES)))
def test_example_runs(index, tmp_path):
    result = subprocess.run([sys.executable, "-c", EXAMPLES[index]], cwd=tmp_path, capture_output=True, text=True,
                            timeout=50, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr


def public_names(module_name: str) -> list[str]:
    module = importlib.import_module(module_name)
    if hasattr(module, "__all__"):
        return list(module.__all__)
    return [name for name, value in vars(module).items() if not name.startswith("_")
            and ((inspect.isfunction(value) or inspect.isclass(value)) and value.__module__ == module_name
                 or name.isupper() and isinstance(value, (int, float)) and not isinstance(value, bool))]


@pytest.mark.parametrize("module_name", MODULES)
def test_every_public_name_is_in_the_reference(module_name):
    text = DOC.read_text()
    missing = [name for name in public_names(module_name) if not re.search(rf"`{name}[`(]", text)]
    assert not missing, f"docs/library.md does not mention {missing} of {module_name}"


def test_every_name_import_pyipc_offers_is_in_the_reference():
    import pyipc

    text = DOC.read_text()
    assert [name for name in pyipc._LAZY if f"`{name}`" not in text] == []


def test_the_readme_links_to_the_reference_and_its_example_runs(tmp_path):
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Use from Python", 1)[1].split("\n## ", 1)[0]
    assert "(docs/library.md)" in section
    (example,) = re.findall(r"```python\n(.*?)```", section, re.S)
    result = subprocess.run([sys.executable, "-c", example], cwd=tmp_path, capture_output=True, timeout=50,
                            stdin=subprocess.DEVNULL)
    assert result.returncode == 0 and result.stdout == b"y\n", result.stderr
