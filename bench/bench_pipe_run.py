#!/usr/bin/env python3
"""pipe-run against bash, side by side in one run.

- data path: pipe-run "cat F" "wc -c" vs bash -c 'cat F | wc -c' on a 512 MiB file
  (goal: within 2% of bash: the data never passes through pipe-run);
- start-up: pipe-run true true vs bash -c 'true | true' and python -c pass.
"""

from __future__ import annotations

import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import DATA, interleaved, main_for, row, script  # noqa: E402


def _data_file(size: int) -> Path:
    DATA.mkdir(parents=True, exist_ok=True)
    path = DATA / f"pipe-run-{size}.bin"
    if not path.exists() or path.stat().st_size != size:
        block = os.urandom(1 << 20)
        with open(path, "wb") as out:
            for _ in range(size >> 20):
                out.write(block)
            out.flush()
            os.fsync(out.fileno())  # no writeback of a fresh file during the timed runs
    return path


def run(quick: bool = False) -> list[dict]:
    pipe_run = script("pipe-run")
    size = (64 if quick else 512) << 20
    data = _data_file(size)
    runs = 5 if quick else 21
    # One interleaved set: start-up and data runs share the same noise. Each
    # round gives a data-path ratio (whole run minus the same round's
    # true|true start-up, ours over bash's); the median of those is reported
    # with its spread, which on a shared 2-core machine is far wider than 2%.
    rounds = interleaved({
        "pipe-run data": [pipe_run, f"cat {data}", "wc -c"],
        "bash data": ["bash", "-c", f"cat {data} | wc -c"],
        "pipe-run": [pipe_run, "true", "true"],
        "bash": ["bash", "-c", "true | true"],
        "python": [sys.executable, "-c", "pass"],
    }, runs=runs)
    paired = [(a - b) / (c - d) for a, b, c, d in
              zip(rounds["pipe-run data"], rounds["pipe-run"], rounds["bash data"], rounds["bash"])]
    median = {name: statistics.median(values) for name, values in rounds.items()}
    mib = size >> 20
    ours = median["pipe-run data"] - median["pipe-run"]
    theirs = median["bash data"] - median["bash"]
    return [
        row(f"pipe-run data path, {mib} MiB cat|wc -c", ours, theirs, ratio=statistics.median(paired),
            reference_tool="bash pipeline", goal="<= 1.02",
            note=f"median of {runs} per-round ratios (start-up subtracted), spread {min(paired):.2f}-{max(paired):.2f}"),
        row("pipe-run start-up, true|true", median["pipe-run"], median["bash"], reference_tool="bash -c 'true | true'",
            goal="tracked", note="Python start-up dominates"),
        row("pipe-run start-up vs python -c pass", median["pipe-run"], median["python"],
            reference_tool="python -c pass", goal="tracked"),
    ]


if __name__ == "__main__":
    main_for(run)
