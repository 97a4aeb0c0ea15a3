#!/usr/bin/env python3
"""alarm-wait's deadline against coreutils timeout, side by side in one run.

Deadline overshoot of ``alarm-wait D -- sleep 10`` vs ``timeout D sleep 10``:
how much longer than D the command actually lives. Measured from outside,
per run: the moment the tool's child has exec'd sleep (its /proc comm turns to
"sleep", watched in a tight loop), to the moment it has exited (its pidfd
becomes readable). Start-up of either tool is not in it; the median of several
interleaved runs is reported. Goal: within 2 ms of timeout.
"""

from __future__ import annotations

import os
import select
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import have, main_for, row, script  # noqa: E402


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as handle:
            return [int(x) for x in handle.read().split()]
    except OSError:
        return []


def _comm(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/comm") as handle:
            return handle.read().strip()
    except OSError:
        return ""


def command_lifetime(argv: list[str], program: str = "sleep") -> tuple[float, float]:
    """(seconds from the exec of program to its exit, whole wall time of argv)."""
    start = time.perf_counter()
    tool = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        give_up = time.monotonic() + 10
        child = None
        while True:
            if child is None:
                found = _children(tool.pid)
                child = found[0] if found else None
            if child is not None and _comm(child) == program:
                exec_seen = time.perf_counter()
                break
            if time.monotonic() > give_up:
                raise RuntimeError(f"{argv[0]} never ran {program}")
        pidfd = os.pidfd_open(child)
        try:
            select.select([pidfd], [], [])
            exited = time.perf_counter()
        finally:
            os.close(pidfd)
        tool.wait(timeout=30)
        return exited - exec_seen, time.perf_counter() - start
    finally:
        if tool.poll() is None:
            tool.kill()
            tool.wait()


def run(quick: bool = False) -> list[dict]:
    alarm_wait = script("alarm-wait")
    if not have("timeout"):
        sys.exit("bench_alarm: coreutils timeout is not installed")
    deadline = 0.2
    runs = 5 if quick else 15
    tools = {
        "alarm-wait": [alarm_wait, str(deadline), "--", "sleep", "10"],
        "timeout": ["timeout", str(deadline), "sleep", "10"],
    }
    lifetimes = {name: [] for name in tools}
    walls = {name: [] for name in tools}
    command_lifetime(tools["alarm-wait"])  # warm-up: page cache, .pyc files
    for _ in range(runs):
        for name, argv in tools.items():  # interleaved: noise hits both alike
            lifetime, wall_time = command_lifetime(argv)
            lifetimes[name].append(lifetime - deadline)
            walls[name].append(wall_time - deadline)
    ours, theirs = (statistics.median(lifetimes[n]) for n in ("alarm-wait", "timeout"))
    ours_wall, theirs_wall = (statistics.median(walls[n]) for n in ("alarm-wait", "timeout"))
    spread = max(lifetimes["alarm-wait"]) - min(lifetimes["alarm-wait"])
    return [
        row(f"alarm-wait deadline overshoot, D={deadline}s", ours, theirs, reference_tool="timeout D sleep 10",
            goal="ours - ref <= 2 ms", ratio=(ours - theirs) * 1000, unit="s",
            note=f"ratio column = difference in ms; median of {runs}; ours spread {spread * 1000:.2f} ms"),
        row("alarm-wait whole run beyond D (start-up included)", ours_wall, theirs_wall,
            reference_tool="timeout D sleep 10", goal="tracked", note="Python start-up dominates"),
    ]


if __name__ == "__main__":
    main_for(run)
