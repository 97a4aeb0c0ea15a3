"""reap-watch vs tini -s: reaping a command that orphans many short-lived processes.

The command forks intermediate processes that each fork a batch of children
and exit at once, so every child is orphaned below the subreaper (reap-watch
--wait-all, or tini -s) and must be reaped by it. reap-watch also reads each
orphan's name from /proc and writes one report per process (to a file here);
tini reaps silently. Goal: reap-watch's wall time within 1.2x of tini's.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench._common import main_for, row, script  # noqa: E402

PRODUCER = """\
import os, sys
total, batch = int(sys.argv[1]), int(sys.argv[2])
made = 0
while made < total:
    n = min(batch, total - made)
    middle = os.fork()
    if middle == 0:
        for _ in range(n):
            if os.fork() == 0:
                os._exit(0)      # short-lived, and orphaned once its parent exits
        os._exit(0)              # never waits: its children go to the subreaper
    os.waitpid(middle, 0)
    made += n
"""


def _timed(argv) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=False, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def run(quick: bool = False) -> list[dict]:
    count = 500 if quick else 10_000
    runs = 3  # interleaved, median: one run alone is at the mercy of a noisy machine
    tini = shutil.which("tini")
    with tempfile.TemporaryDirectory() as tmp:
        producer = os.path.join(tmp, "orphans.py")
        with open(producer, "w") as f:
            f.write(PRODUCER)
        command = [sys.executable, producer, str(count), "100"]
        reports = {"text": os.path.join(tmp, "deaths.txt"), "json": os.path.join(tmp, "deaths.jsonl")}
        contenders = {
            "text": [script("reap-watch"), "--wait-all", "-o", reports["text"], " ".join(command)],
            "json": [script("reap-watch"), "--wait-all", "--json", "-o", reports["json"], " ".join(command)],
        }
        if tini:
            contenders["tini"] = [tini, "-s", "--", *command]
        times = {name: [] for name in contenders}
        for _ in range(runs):
            for name, argv in contenders.items():
                times[name].append(_timed(argv))
        with open(reports["text"]) as f:
            text_adopted = sum(1 for line in f if ", adopted)" in line)
        with open(reports["json"]) as f:
            json_adopted = sum(1 for line in f if json.loads(line)["adopted"])
    median = {name: sorted(values)[len(values) // 2] for name, values in times.items()}
    rows = []
    for name, adopted, label in (("text", text_adopted, "reap-watch --wait-all"),
                                 ("json", json_adopted, "reap-watch --wait-all --json")):
        note = f"{label}: {adopted}/{count} orphans reported and reaped; median of {runs}"
        if tini:
            rows.append(row(f"reap {count} orphans ({name})", median[name], median["tini"],
                            reference_tool="tini -s", goal="<= 1.2", note=note))
        else:
            rows.append(row(f"reap {count} orphans ({name})", median[name], float("nan"),
                            reference_tool="tini -s (MISSING)", goal="<= 1.2",
                            note=note + "; tini is not installed (apt-get install tini): no comparison"))
    return rows


if __name__ == "__main__":
    main_for(run)
