"""FIFO channels side by side with cat: bulk bytes through mkfifo-cat, and short
lines streamed fifo-send -> fifo-recv.

Start-up is excluded from both: each side is started, and the clock starts only
once the readers (and the senders) hold the FIFO open; it stops when the reader
exits (bulk) or has written the last byte to its stdout (lines: a 0.1 s run,
where interpreter teardown would weigh). Runs are interleaved so that machine noise hits both tools alike.

    .venv/bin/python bench/bench_fifo.py [--quick]
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import DATA, main_for, row, script  # noqa: E402

from pyipc.procfs import holds_open  # noqa: E402


def _wait_open(pid: int, path: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not holds_open(pid, path):
        if time.monotonic() > deadline:
            raise RuntimeError(f"bench: pid {pid} never opened {path}")
        time.sleep(0.001)


def _bulk_once(reader_argv: list[str], fifo: str, size: int) -> float:
    """Seconds to move size bytes from head -c through the FIFO to /dev/null."""
    with open(os.devnull, "wb") as devnull:
        reader = subprocess.Popen(reader_argv, stdout=devnull)
        try:
            if not os.path.exists(fifo):
                time.sleep(0.001)
            while not os.path.exists(fifo):
                time.sleep(0.001)
            if reader_argv[0].endswith("mkfifo-cat"):
                _wait_open(reader.pid, fifo)
            start = time.perf_counter()
            writer = subprocess.Popen(["sh", "-c", f'exec head -c {size} /dev/zero > "$0"', fifo])
            reader.wait()
            elapsed = time.perf_counter() - start
            writer.wait()
        finally:
            if reader.poll() is None:
                reader.kill()
                reader.wait()
    return elapsed


def _lines_once(reader_argv: list[str], sender_argv: list[str], fifo: str, data_file: str, env=None) -> float:
    """Seconds from feeding data_file to the sender's stdin until the reader has
    written every byte to its stdout, both already started and holding the FIFO
    open: start-up and interpreter teardown excluded on both sides."""
    expected = os.path.getsize(data_file)
    read_end, write_end = os.pipe()
    out_read, out_write = os.pipe()
    try:  # a big pipe keeps the cost of watching the output small (same for both sides)
        import fcntl

        fcntl.fcntl(out_read, fcntl.F_SETPIPE_SZ, 1 << 20)
    except OSError:
        pass
    reader = subprocess.Popen(reader_argv, stdout=out_write, env=env)
    sender = subprocess.Popen(sender_argv, stdin=read_end, env=env)
    os.close(read_end)
    os.close(out_write)
    try:
        _wait_open(reader.pid, fifo)
        _wait_open(sender.pid, fifo)
        start = time.perf_counter()
        feeder = subprocess.Popen(["cat", data_file], stdout=write_end)
        os.close(write_end)
        write_end = -1
        received = 0
        # One buffer, reused: a fresh 1 MiB bytes object per read would be
        # mmap'ed and faulted in each time, CPU taken from the tools measured.
        with memoryview(bytearray(1 << 16)) as sink:
            while received < expected:
                got = os.readv(out_read, [sink])
                if not got:
                    raise RuntimeError(f"bench: the reader ended after {received} of {expected} bytes")
                received += got
        elapsed = time.perf_counter() - start
        feeder.wait()
        sender.wait()
        reader.wait()
    finally:
        if write_end >= 0:
            os.close(write_end)
        os.close(out_read)
        for proc in (reader, sender):
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return elapsed


def run(quick: bool = False) -> list[dict]:
    mkfifo_cat, fifo_send, fifo_recv = script("mkfifo-cat"), script("fifo-send"), script("fifo-recv")
    size = (64 << 20) if quick else (1 << 30)
    lines = 200_000 if quick else 10_000_000
    runs = 3 if quick else 7  # 1 GiB runs: about 0.4 s each
    line_runs = 3 if quick else 21  # about 0.1 s each: noise needs more rounds
    work = tempfile.mkdtemp(prefix="bench_fifo.", dir="/tmp")
    DATA.mkdir(parents=True, exist_ok=True)
    data_file = str(DATA / f"seq_{lines}.txt")
    try:
        fifo = os.path.join(work, "p")
        ours, ref = [], []
        for _ in range(runs):
            ours.append(_bulk_once([mkfifo_cat, "--once", "--remove", fifo], fifo, size))
            os.mkfifo(fifo)
            ref.append(_bulk_once(["cat", fifo], fifo, size))
            os.unlink(fifo)
        bulk_ours, bulk_ref = statistics.median(ours), statistics.median(ref)

        with open(data_file, "wb") as out:
            subprocess.run(["seq", str(lines)], stdout=out, check=True)
        os.mkfifo(fifo)
        # Three runs per round, interleaved: ours, cat's, and ours without the
        # optional C helper (pyipc._speedups), so that the table shows what a
        # machine without a C compiler gets. Ratios are paired per round (the
        # noise on these machines moves whole rounds), then the median taken.
        pure_env = dict(os.environ, PYIPC_NO_SPEEDUPS="1")
        ours, ref, pure = [], [], []
        for _ in range(line_runs):
            ours.append(_lines_once([fifo_recv, fifo], [fifo_send, fifo], fifo, data_file))
            ref.append(_lines_once(["cat", fifo], ["sh", "-c", 'exec cat > "$0"', fifo], fifo, data_file))
            pure.append(_lines_once([fifo_recv, fifo], [fifo_send, fifo], fifo, data_file, env=pure_env))
        paired = [theirs / mine for mine, theirs in zip(ours, ref)]  # lines/s ratio = time ratio inverted
        paired_pure = [theirs / mine for mine, theirs in zip(pure, ref)]
        lines_ours, lines_ref = lines / statistics.median(ours), lines / statistics.median(ref)
        lines_pure = lines / statistics.median(pure)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if os.path.exists(data_file):
            os.unlink(data_file)
    mib = size >> 20
    return [
        row(f"{mib} MiB through a FIFO to /dev/null", bulk_ours, bulk_ref, reference_tool="cat FIFO",
            goal="ratio <= 1.05", note=f"{mib / bulk_ours:,.0f} vs {mib / bulk_ref:,.0f} MiB/s; start-up excluded"),
        row(f"{lines:,} seq lines fifo-send -> fifo-recv", lines_ours, lines_ref, unit="lines/s",
            reference_tool="cat -> FIFO -> cat", goal="ratio >= 0.5", ratio=statistics.median(paired),
            note=f"start-up excluded; messages atomic; median of {line_runs} per-round ratios, "
                 f"spread {min(paired):.2f}-{max(paired):.2f}"),
        row("  the same without the C helper", lines_pure, lines_ref, unit="lines/s",
            reference_tool="cat -> FIFO -> cat", goal="tracked", ratio=statistics.median(paired_pure),
            note=f"PYIPC_NO_SPEEDUPS=1 (no C compiler at install); spread {min(paired_pure):.2f}-{max(paired_pure):.2f}"),
    ]


if __name__ == "__main__":
    main_for(run)
