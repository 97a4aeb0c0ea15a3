#!/usr/bin/env python3
"""Start-up of every command doing trivial real work, against the same
interpreter running `python -c pass` and `python -c 'import typer'`.

Budget (issue: start-up): each command's median at most 1.3x `import typer`.
Runs are interleaved (command A, B, ..., reference, then again) so that noise
from a shared machine falls on every command alike. pyipc is byte-compiled
first, as `pip install .` does: this environment may set
PYTHONDONTWRITEBYTECODE, and an editable checkout would otherwise be compiled
from source at every start.
"""

from __future__ import annotations

import compileall
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, SCRIPTS, main_for, row  # noqa: E402
from startup_cases import Case, trivial_cases  # noqa: E402


def run(quick: bool = False) -> list[dict]:
    compileall.compile_dir(str(ROOT / "pyipc"), quiet=1)
    runs = 7 if quick else 21
    python = sys.executable
    references = [Case("python -c pass", [python, "-c", "pass"]),
                  Case("python -c 'import typer'", [python, "-c", "import typer"])]
    with tempfile.TemporaryDirectory() as tmp, trivial_cases(SCRIPTS, Path(tmp)) as cases:
        everything = references + cases
        times = {case.name: [] for case in everything}
        for i in range(runs + 1):
            for case in everything:
                start = time.perf_counter()
                result = case.run_once()
                elapsed = time.perf_counter() - start
                if result.returncode != 0:
                    raise SystemExit(f"{case.name} failed: {result.stderr.decode()[-300:]}")
                if i:  # the first round is the warm-up
                    times[case.name].append(elapsed)
    median = {name: statistics.median(values) for name, values in times.items()}
    bare, typer = median["python -c pass"], median["python -c 'import typer'"]
    rows = [row("python -c 'import typer'", typer, bare, reference_tool="python -c pass", goal="reference")]
    for case in cases:
        ours = median[case.name]
        rows.append(row(f"start-up: {case.name}", ours, typer, reference_tool="python -c 'import typer'",
                        goal="<= 1.3", note=f"{ours / bare:.2f}x python -c pass"))
    return rows


if __name__ == "__main__":
    main_for(run)
