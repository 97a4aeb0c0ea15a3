#!/usr/bin/env python3
"""pipe-run against bash, side by side in one run.

- data path: pipe-run "cat F" "wc -c" vs bash -c 'cat F | wc -c' on a 512 MiB file
  (goal: within 2% of bash: the data never passes through pipe-run);
- start-up: pipe-run true true vs bash -c 'true | true' and python -c pass;
- --label (issue 15): a stage writing 100 MB of 100-byte lines to stderr,
  labelled against the same run without --label (and against sed doing the
  labelling in a bash pipeline), with pipe-run's stderr on /dev/null and on a
  pipe (4 KiB writes of whole lines there);
- --progress (issue 15): the data-path run with --progress against without,
  both with stderr on a pseudo-terminal whose other end a thread of this
  bench drains (so the progress line really is drawn: there is no hidden way
  to force it on), goal <= 1.02.
"""

from __future__ import annotations

import os
import pty
import statistics
import subprocess
import sys
import threading
import time
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


def _lines_file(size: int) -> Path:
    """size bytes of 100-byte lines."""
    DATA.mkdir(parents=True, exist_ok=True)
    path = DATA / f"lines-{size}.txt"
    if not path.exists() or path.stat().st_size != size:
        line = b"%099d\n"
        with open(path, "wb") as out:
            for start in range(0, size // 100, 10000):
                out.write(b"".join(line % i for i in range(start, min(start + 10000, size // 100))))
            out.flush()
            os.fsync(out.fileno())
    return path


def _timed(commands: dict[str, list[str]], runs: int, **kwargs) -> tuple[dict[str, float], dict[str, float]]:
    """Median wall and CPU (user + system of the command and all it waited
    for) seconds of each command, in interleaved rounds after one warm-up.
    On a loaded machine the CPU times are the steadier figure."""
    import resource

    wall: dict[str, list[float]] = {name: [] for name in commands}
    cpu: dict[str, list[float]] = {name: [] for name in commands}
    for i in range(runs + 1):
        for name, argv in commands.items():
            before, start = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
            subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, check=False, **kwargs)
            end, after = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
            if i:
                wall[name].append(end - start)
                cpu[name].append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return ({name: statistics.median(values) for name, values in wall.items()},
            {name: statistics.median(values) for name, values in cpu.items()})


def _label_rows(pipe_run: str, quick: bool) -> list[dict]:
    size = (20 if quick else 100) * 1000 * 1000
    lines = _lines_file(size)
    runs = 5 if quick else 11
    writer = f"sh -c 'cat {lines} >&2'"
    to_pipe = "2>&1 >/dev/null | cat >/dev/null"
    wall, cpu = _timed({
        "label": [pipe_run, "--label", writer, "true"],
        "plain": [pipe_run, writer, "true"],
        "sed": ["bash", "-c", f"{writer} 2>&1 >/dev/null | sed 's/^/[1 sh] /' >&2"],
        "label pipe": ["bash", "-c", f"{pipe_run} --label \"{writer}\" true {to_pipe}"],
        "plain pipe": ["bash", "-c", f"{pipe_run} \"{writer}\" true {to_pipe}"],
        "start-up": [pipe_run, "true", "true"],
    }, runs, stderr=subprocess.DEVNULL)
    mb = size / 1e6

    def rate(name: str) -> str:
        startup = 0.0 if name == "sed" else wall["start-up"]  # bash and sed start in a few ms
        return f"{mb / max(wall[name] - startup, 1e-6):,.0f} MB/s"

    def cpu_ms(name: str) -> str:
        return f"{cpu[name] * 1000:.0f}"

    return [
        row(f"pipe-run --label, {mb:.0f} MB of 100-byte lines on stderr, to /dev/null", wall["label"], wall["plain"],
            reference_tool="the same without --label", goal="tracked",
            note=f"{rate('label')} vs {rate('plain')} (start-up subtracted); CPU {cpu_ms('label')} vs "
                 f"{cpu_ms('plain')} ms; sed labelling in bash: {rate('sed')}, CPU {cpu_ms('sed')} ms; median of {runs}"),
        row(f"pipe-run --label, {mb:.0f} MB of 100-byte lines on stderr, to a pipe", wall["label pipe"],
            wall["plain pipe"], reference_tool="the same without --label", goal="tracked",
            note=f"{rate('label pipe')} vs {rate('plain pipe')} (start-up subtracted); CPU {cpu_ms('label pipe')} vs "
                 f"{cpu_ms('plain pipe')} ms; writes of <= 4 KiB of whole lines"),
    ]


def _drained_pty() -> tuple[int, list[int]]:
    """A pseudo-terminal's slave end (80 columns), and a thread that reads
    and counts whatever is written to it, so that nothing blocks."""
    import fcntl
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    drawn = [0]

    def drain() -> None:
        while True:
            try:
                data = os.read(master, 1 << 16)
            except OSError:
                return
            if not data:
                return
            drawn[0] += len(data)

    threading.Thread(target=drain, daemon=True).start()
    return slave, drawn


def _progress_rows(pipe_run: str, data: Path, quick: bool) -> list[dict]:
    runs = 5 if quick else 21
    slave, drawn = _drained_pty()
    try:
        rounds = interleaved({
            "progress": [pipe_run, "--progress", f"cat {data}", "wc -c"],
            "off": [pipe_run, f"cat {data}", "wc -c"],
            "start-up": [pipe_run, "true", "true"],
        }, runs=runs, stderr=slave)
    finally:
        os.close(slave)
    paired = [(a - c) / (b - c) for a, b, c in zip(rounds["progress"], rounds["off"], rounds["start-up"])]
    median = {name: statistics.median(values) for name, values in rounds.items()}
    mib = data.stat().st_size >> 20
    return [
        row(f"pipe-run --progress on a terminal, {mib} MiB cat|wc -c", median["progress"] - median["start-up"],
            median["off"] - median["start-up"], ratio=statistics.median(paired), reference_tool="without --progress",
            goal="<= 1.02",
            note=f"median of {runs} per-round ratios (start-up subtracted), spread {min(paired):.2f}-{max(paired):.2f}; "
                 f"stderr a pty: {drawn[0]:,} bytes of progress lines drawn"),
    ]


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
        *_progress_rows(pipe_run, data, quick),
        *_label_rows(pipe_run, quick),
    ]


if __name__ == "__main__":
    main_for(run)
