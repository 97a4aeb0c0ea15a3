#!/usr/bin/env python3
"""Every pyipc benchmark, side by side in one run, as one table of ratios.

    .venv/bin/python bench/run.py              # full sizes (several minutes)
    .venv/bin/python bench/run.py --quick      # small sizes, a quick look
    .venv/bin/python bench/run.py --write      # also rewrite bench/RESULTS.md

Run it with the python of a regular install (`pip install .` into a fresh
venv): an editable install's .pth runs at every start and hides start-up costs.
Each bench/bench_*.py module defines run(quick) -> rows (see bench/_common.py).
Ratios are ours / reference, measured in the same run: on a shared, noisy
machine only those compare. Benchmarks never decide whether tests pass.
"""

from __future__ import annotations

import datetime
import importlib
import os
import platform
import sys
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _common import format_table  # noqa: E402

ORDER = ["bench_startup", "bench_pipe_run", "bench_fifo", "bench_alarm", "bench_reap"]


def modules() -> list[str]:
    found = sorted(p.stem for p in HERE.glob("bench_*.py"))
    return [m for m in ORDER if m in found] + [m for m in found if m not in ORDER]


def machine() -> str:
    cpu = "unknown cpu"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.system()} {platform.release()}, {os.cpu_count()} cores, {cpu}, Python {platform.python_version()}"


def main(argv: list[str]) -> int:
    quick = "--quick" in argv
    only = [a for a in argv if not a.startswith("--")]
    rows, failures = [], []
    for name in modules():
        if only and not any(o in name for o in only):
            continue
        print(f"running {name}{' (quick)' if quick else ''} ...", file=sys.stderr, flush=True)
        try:
            rows += importlib.import_module(name).run(quick=quick)
        except SystemExit as exc:  # a bench that cannot run here says why
            failures.append(f"{name}: {exc}")
        except Exception:
            failures.append(f"{name}: {traceback.format_exc().strip().splitlines()[-1]}")
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    try:
        import subprocess

        commit = subprocess.run(["git", "-C", str(HERE), "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, timeout=10).stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        commit = "unknown"
    table = format_table(rows)
    text = (f"pyipc benchmarks, {stamp}, commit {commit}{' (quick sizes)' if quick else ''}\n"
            f"machine: {machine()}\n\n{table}\n")
    if failures:
        text += "\nnot measured:\n" + "\n".join(f"- {f}" for f in failures) + "\n"
    print(text)
    if "--write" in argv:
        results = HERE / "RESULTS.md"
        # Sections written by hand after the table (## headings: before/after
        # comparisons of one change) are kept.
        old = results.read_text() if results.exists() else ""
        kept = old[old.index("\n## "):] if "\n## " in old else ""
        results.write_text(
            "# Benchmark results\n\n"
            "Written by `python bench/run.py --write` (see the command's docstring). Ratios are ours / reference, "
            "measured side by side in the same run; lower is better except where the goal column says otherwise.\n\n"
            "```\n" + text + "```\n" + kept)
        print(f"wrote {results}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
