#!/usr/bin/env python3
"""Start-up of every command doing trivial real work, against the same
interpreter running `python -c pass` and `python -c 'import typer'`.

Budgets: each command's median at most 1.6x `python -c pass` (issue 13: a
trivial run imports neither typer nor click), and at most 1.3x `import typer`.
Measure with a regular install (`pip install .` into a fresh venv, then that
venv's python runs this file): an editable install's .pth runs at every start,
`python -c pass` included, and hides the cost being measured; the rows say
when the pyipc measured is an editable or checkout one.
Runs are interleaved (command A, B, ..., reference, then again) so that noise
from a shared machine falls on every command alike. pyipc is byte-compiled
first, as `pip install .` does: this environment may set
PYTHONDONTWRITEBYTECODE, and an editable checkout would otherwise be compiled
from source at every start.

`--before DIR` adds the same runs of the commands installed in DIR (another
venv's bin/, say a regular install of an older commit), interleaved with
these: a before/after comparison from one run.
"""

from __future__ import annotations

import compileall
import contextlib
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, SCRIPTS, main_for, row  # noqa: E402
from startup_cases import Case, trivial_cases  # noqa: E402


def run(quick: bool = False, before_scripts: Path | None = None) -> list[dict]:
    compileall.compile_dir(str(ROOT / "pyipc"), quiet=1)
    runs = 7 if quick else 21
    python = sys.executable
    references = [Case("python -c pass", [python, "-c", "pass"]),
                  Case("python -c 'import typer'", [python, "-c", "import typer"]),
                  # What the commands no longer import (pyipc/_signals.py: signal's enums
                  # import enum, functools and collections; pip's console-script
                  # wrapper, no longer used, imports re): for scale.
                  Case("python -c 'import signal'", [python, "-c", "import signal"]),
                  Case("python -c 'import re, signal'", [python, "-c", "import re, signal"])]
    with contextlib.ExitStack() as stack:
        cases = stack.enter_context(trivial_cases(SCRIPTS, Path(stack.enter_context(tempfile.TemporaryDirectory()))))
        old = []
        if before_scripts is not None:
            old_dir = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            old = stack.enter_context(trivial_cases(before_scripts, old_dir))
            for case in old:
                case.name = f"before: {case.name}"
        everything = references + [case for pair in zip(cases, old or cases) for case in dict.fromkeys(pair)]
        times = {case.name: [] for case in everything}
        cpu = {case.name: [] for case in everything}
        for i in range(runs + 1):
            for case in everything:
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                start = time.perf_counter()
                result = case.run_once()
                elapsed = time.perf_counter() - start
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                if result.returncode != 0:
                    raise SystemExit(f"{case.name} failed: {result.stderr.decode()[-300:]}")
                if i:  # the first round is the warm-up
                    times[case.name].append(elapsed)
                    cpu[case.name].append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    median = {name: statistics.median(values) for name, values in times.items()}
    # CPU time (user + system, the command and what it ran) moves less than
    # wall time when other work shares the machine: given in the notes.
    median_cpu = {name: statistics.median(values) for name, values in cpu.items()}
    bare, typer = median["python -c pass"], median["python -c 'import typer'"]
    install = _install_kind()
    floor = median["python -c 'import re, signal'"]
    rows = [row("python -c 'import typer'", typer, bare, reference_tool="python -c pass", goal="reference",
                note=install),
            row("python -c 'import signal'", median["python -c 'import signal'"], bare,
                reference_tool="python -c pass", goal="reference",
                note="signal's enums, which the commands do without (_signal); "
                     + _cpu_note(median_cpu, "python -c 'import signal'")),
            row("python -c 'import re, signal'", floor, bare, reference_tool="python -c pass", goal="reference",
                note="and re, which pip's console-script wrapper imports; "
                     + _cpu_note(median_cpu, "python -c 'import re, signal'"))]
    for case in [*old, *cases]:
        ours = median[case.name]
        rows.append(row(f"start-up: {case.name}", ours, bare, reference_tool="python -c pass", goal="<= 1.6",
                        note=f"{_cpu_note(median_cpu, case.name)}; median of {runs}, interleaved; "
                             + (f"installed in {before_scripts}" if case in old else install)))
    for case in cases:
        ours = median[case.name]
        rows.append(row(f"start-up: {case.name}", ours, typer, reference_tool="python -c 'import typer'",
                        goal="<= 1.3"))
    return rows


def _cpu_note(median_cpu: dict, name: str) -> str:
    bare = median_cpu["python -c pass"]
    return f"cpu {median_cpu[name] * 1000:.1f} ms = {median_cpu[name] / bare:.2f}x python -c pass's"


def _install_kind() -> str:
    """Which pyipc the console scripts run: a regular install, or this checkout
    (editable or not installed), whose start-up the numbers would not show."""
    import subprocess

    found = subprocess.run([sys.executable, "-c", "import pyipc; print(pyipc.__file__)"], capture_output=True,
                           text=True, cwd="/", timeout=30).stdout.strip()
    if not found:
        return "pyipc not importable"
    return "editable/checkout pyipc" if Path(found).resolve().is_relative_to(ROOT) else "regular install"


if __name__ == "__main__":
    if "--before" in sys.argv:
        from _common import format_table

        before = Path(sys.argv[sys.argv.index("--before") + 1])
        print(format_table(run(quick="--quick" in sys.argv, before_scripts=before)))
    else:
        main_for(run)
