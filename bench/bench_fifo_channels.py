"""FIFO channels used the way scripts use them: receivers looping
`fifo-recv --count N` against bash `while read` loops over the same FIFO, many
senders into one collector, and receivers SIGKILLed mid-queue. Every row
counts what was lost, cut or duplicated, on both sides.

(a) one loop of `fifo-recv --count 1` vs one bash `while read -r` loop, taking
    the same queue one message at a time (rate: messages/s);
(b) 4 competing loops of `fifo-recv --count 10` vs 4 bash `while read` loops
    draining one queue;
(c) 16 concurrent fifo-send x mixed-size messages (most short, some 5-64 KiB,
    a few 200 KiB) into mkfifo-cat and into one `fifo-recv --follow`, line and
    length framing;
(d) 4 receivers looping `--count 1` and `--count 10` behind one fifo-send,
    line and length framing, one of them SIGKILLed now and then.

Queues larger than the pipe keep a reader end open for the queue's life (the
pattern fifo-send(1) NOTES documents: exec 3<>q.fifo); (a) and (b) fill the
queue through that end before the receivers start, so both sides drain the
very same bytes, and the clock stops when the pipe is empty (FIONREAD).
Benchmarks never assert: the counts are reported, not checked.

    .venv/bin/python bench/bench_fifo_channels.py [--quick]
"""

from __future__ import annotations

import collections
import fcntl
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import main_for, row, script  # noqa: E402

F_SETPIPE_SZ = 1031
FIONREAD = 0x541B
HEADER = 4


def _queued(fd: int) -> int:
    return int.from_bytes(fcntl.ioctl(fd, FIONREAD, b"\0\0\0\0"), "little")


def _wait(proc: subprocess.Popen, timeout: float) -> int:
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        _kill_tree(proc.pid)
        return proc.wait()


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as file:
            return [int(p) for p in file.read().split()]
    except OSError:
        return []


def _kill_tree(pid: int) -> None:
    for child in _children(pid):
        _kill_tree(child)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


class Holder:
    """The script's `exec 3<>q.fifo`: a reader end open for the queue's life,
    through which a queue can also be filled in advance."""

    def __init__(self, path: str, size: int = 0):
        self.fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
        if size:
            fcntl.fcntl(self.fd, F_SETPIPE_SZ, size)

    def fill(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self.fd, view):]

    def wait_empty(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while _queued(self.fd):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.0005)
        return True

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


# -- counting what arrived --------------------------------------------------

def _tally(received: list[bytes], expected: list[bytes]) -> dict:
    """lost: expected messages seen nowhere whole; dup: seen more than once
    (extra copies); cut: received messages that are not one expected message."""
    want = collections.Counter(expected)
    got = collections.Counter(received)
    whole = sum(min(n, got[m]) for m, n in want.items())
    return {
        "expected": len(expected), "delivered": whole,
        "lost": sum(max(0, n - got[m]) for m, n in want.items()),
        "dup": sum(max(0, n - want[m]) for m, n in got.items() if m in want),
        "cut": sum(n for m, n in got.items() if m not in want),
    }


def _split(data: bytes, framing: str) -> list[bytes]:
    if framing == "line":
        parts = data.split(b"\n")
        if parts and parts[-1] == b"":
            parts.pop()
        return parts
    out, pos = [], 0
    while pos + HEADER <= len(data):
        size = int.from_bytes(data[pos:pos + HEADER], "big")
        if pos + HEADER + size > len(data):
            break
        out.append(data[pos + HEADER:pos + HEADER + size])
        pos += HEADER + size
    if pos < len(data):
        out.append(b"<unparsable tail of %d bytes>" % (len(data) - pos))
    return out


def _frame(messages: list[bytes], framing: str) -> bytes:
    if framing == "line":
        return b"".join(m + b"\n" for m in messages)
    return b"".join(len(m).to_bytes(HEADER, "big") + m for m in messages)


def _counts(t: dict) -> str:
    return f"lost {t['lost']}, cut {t['cut']}, dup {t['dup']}"


def _read_outputs(paths: list[str]) -> list[bytes]:
    data = []
    for path in paths:
        with open(path, "rb") as file:
            data.append(file.read())
    return data


# -- (a) and (b): loops of receivers draining one queue ----------------------

OURS_LOOP = 'while "$0" -n "$1" --timeout 5 "$2"; do :; done'
BASH_LOOP = 'while IFS= read -r -t 5 line; do printf "%s\\n" "$line"; done < "$2"'


def _drain(fifo_recv: str, fifo: str, work: str, messages: list[bytes], workers: int, count: int,
           ours: bool) -> tuple[float, dict]:
    """Fill the queue (through the holder), start the loops, time until the
    pipe is empty; then close the holder (the loops end at EOF) and count."""
    holder = Holder(fifo, 1 << 20)
    holder.fill(_frame(messages, "line"))
    outs = [os.path.join(work, f"out.{'ours' if ours else 'bash'}.{w}") for w in range(workers)]
    procs = []
    loop = OURS_LOOP if ours else BASH_LOOP
    start = time.perf_counter()
    try:
        for out in outs:
            with open(out, "wb") as file:
                procs.append(subprocess.Popen(["bash", "-c", loop, fifo_recv, str(count), fifo], stdout=file,
                                              stderr=subprocess.DEVNULL))
        holder.wait_empty(3600)
        elapsed = time.perf_counter() - start
    finally:
        holder.close()
        for proc in procs:
            _wait(proc, 60)
    received = [m for data in _read_outputs(outs) for m in _split(data, "line")]
    return elapsed, _tally(received, messages)


def _one_by_one(fifo_recv: str, fifo: str, work: str, n: int, rounds: int) -> dict:
    messages = [b"job-%07d" % i for i in range(n)]
    times = {"ours": [], "bash": []}
    tallies = {"ours": [], "bash": []}
    ours_loop = 'for ((i = 0; i < $1; i++)); do "$0" -n 1 "$2" || exit; done'
    bash_loop = 'for ((i = 0; i < $1; i++)); do IFS= read -r line || exit; printf "%s\\n" "$line"; done < "$2"'
    for _ in range(rounds):
        for side, loop in (("bash", bash_loop), ("ours", ours_loop), ("bash", bash_loop)):  # bash around ours
            holder = Holder(fifo)
            holder.fill(_frame(messages, "line"))
            out = os.path.join(work, f"one.{side}")
            try:
                with open(out, "wb") as file:
                    start = time.perf_counter()
                    _wait(subprocess.Popen(["bash", "-c", loop, fifo_recv, str(n), fifo], stdout=file), 3600)
                    times[side].append(time.perf_counter() - start)
            finally:
                holder.close()
            tallies[side].append(_tally(_split(_read_outputs([out])[0], "line"), messages))
    return {side: (n / statistics.median(t), tallies[side]) for side, t in times.items()}


# -- (c) many senders into one collector -------------------------------------

def _payload(sender: int, seq: int, rng: random.Random) -> bytes:
    draw = rng.random()
    if draw < 0.001:
        size = 200 << 10
    elif draw < 0.011:
        size = rng.randint(5 << 10, 64 << 10)
    else:
        size = rng.randint(12, 120)
    head = b"%02d:%05d:%d:" % (sender, seq, size)
    return head + bytes([97 + (sender * 7 + seq) % 26]) * (size - len(head))


def _sender_files(work: str, senders: int, per_sender: int) -> tuple[dict, list[bytes]]:
    files = {"line": [], "length": []}
    everything = []
    for s in range(senders):
        rng = random.Random(1000 + s)
        messages = [_payload(s, i, rng) for i in range(per_sender)]
        everything += messages
        for framing in files:
            path = os.path.join(work, f"in.{framing}.{s}")
            with open(path, "wb") as file:
                file.write(_frame(messages, framing))
            files[framing].append(path)
    return files, everything


def _collect(argv: list[str], fifo: str, framing: str, inputs: list[str], fifo_send: str, out: str,
             expected: list[bytes]) -> tuple[float, dict, list[int], int]:
    read_end, write_end = os.pipe()  # --ready-fd
    with open(out, "wb") as file:
        collector = subprocess.Popen(argv + ["--ready-fd", str(write_end), fifo], stdout=file,
                                     pass_fds=(write_end,))
    os.close(write_end)
    os.read(read_end, 1)
    os.close(read_end)
    senders = []
    start = time.perf_counter()
    try:
        for path in inputs:
            with open(path, "rb") as stdin:
                senders.append(subprocess.Popen([fifo_send, "-f", framing, fifo], stdin=stdin))
        statuses = [_wait(p, 1800) for p in senders]
        elapsed = time.perf_counter() - start
    finally:
        collector.send_signal(signal.SIGTERM)
        collector_status = _wait(collector, 120)
    with open(out, "rb") as file:
        data = file.read()
    return elapsed, _tally(_split(data, framing), expected), statuses, collector_status


# -- (d) receivers killed now and then ----------------------------------------

# No --timeout: a receiver waiting for its turn then blocks in flock(2), where
# /proc/locks shows it. The loops end at EOF (the holder closed) or at $4.
KILLED_LOOP = ('while [ ! -e "$4" ]; do "$0" -n "$1" -f "$3" "$2"; rc=$?; '
               '[ $rc = 0 ] || [ $rc = 137 ] || exit $rc; done')


def _flock_waiters(fifo: str) -> set[int]:
    """Pids blocked in flock(2) on the FIFO (between receives: they hold no
    message and have consumed nothing)."""
    ino = os.stat(fifo).st_ino
    waiters = set()
    try:
        with open("/proc/locks") as file:
            for line in file:
                fields = line.split()
                if "->" in fields and "FLOCK" in fields:
                    rest = fields[fields.index("->") + 1:]
                    if rest[4].split(":")[-1] == str(ino):  # FLOCK ADVISORY WRITE pid maj:min:ino
                        waiters.add(int(rest[3]))
    except (OSError, IndexError, ValueError):
        pass
    return waiters


def _killed_receivers(fifo_recv: str, fifo_send: str, fifo: str, work: str, framing: str, count: int,
                      n: int, every: float) -> tuple[float, dict, int, int]:
    messages = [b"m%07d" % i for i in range(n)]
    path = os.path.join(work, f"killed.{framing}.in")
    with open(path, "wb") as file:
        file.write(_frame(messages, framing))
    holder = Holder(fifo)
    outs = [os.path.join(work, f"killed.{framing}.{count}.{w}") for w in range(4)]
    loops, kills, done = [], [0, 0], threading.Event()
    stop = os.path.join(work, "stop")
    if os.path.exists(stop):
        os.unlink(stop)

    def killer() -> None:
        # Preferably one waiting for its turn (between receives); when none
        # waits, any receiver, at whatever moment it is in (counted apart).
        rng = random.Random(7)
        while not done.wait(rng.uniform(every / 2, every * 1.5)):
            waiting = _flock_waiters(fifo)
            receivers = [c for loop in loops for c in _children(loop.pid)]
            between = [c for c in receivers if c in waiting]
            victim, kind = (rng.choice(between), 0) if between else (rng.choice(receivers), 1) if receivers else (0, 0)
            if victim:
                try:
                    os.kill(victim, signal.SIGKILL)
                    kills[kind] += 1
                except ProcessLookupError:
                    pass

    start = time.perf_counter()
    try:
        with open(path, "rb") as stdin:
            sender = subprocess.Popen([fifo_send, "-f", framing, "--timeout", "60", fifo], stdin=stdin)
        for out in outs:
            with open(out, "wb") as file:
                loops.append(subprocess.Popen(["bash", "-c", KILLED_LOOP, fifo_recv, str(count), fifo, framing, stop],
                                              stdout=file, stderr=subprocess.DEVNULL))
        thread = threading.Thread(target=killer, daemon=True)
        thread.start()
        status = _wait(sender, 3600)
        elapsed = time.perf_counter() - start
        done.set()
        thread.join()
    finally:
        done.set()
        open(stop, "w").close()
        holder.close()
        for loop in loops:
            _wait(loop, 10)  # one started just before the stop file may wait for a writer forever
    received = [m for data in _read_outputs(outs) for m in _split(data, framing)]
    return elapsed, _tally(received, messages), kills, status


def run(quick: bool = False) -> list[dict]:
    fifo_send, fifo_recv, mkfifo_cat = script("fifo-send"), script("fifo-recv"), script("mkfifo-cat")
    work = tempfile.mkdtemp(prefix="bench_fifo_channels.", dir="/tmp")
    fifo = os.path.join(work, "q.fifo")
    os.mkfifo(fifo)
    rows = []
    try:
        # (a)
        n = 50 if quick else 1000
        rounds = 1
        a = _one_by_one(fifo_recv, fifo, work, n, rounds)
        (ours_rate, ours_t), (bash_rate, bash_t) = a["ours"], a["bash"]
        rows.append(row(f"{n:,} x fifo-recv --count 1 in a loop", ours_rate, bash_rate, unit="msg/s",
                        reference_tool="bash while read", goal="tracked",
                        note=f"ours {_counts(ours_t[0])}; bash {_counts(bash_t[0])} "
                             f"(bash reads the FIFO once, ours starts {n:,} processes)"))

        # (b)
        n = 2_000 if quick else 100_000
        messages = [b"m%06d" % i for i in range(n)]
        for count in ((10, 1) if quick else (10,)):
            ours_s, ours_t = _drain(fifo_recv, fifo, work, messages, 4, count, ours=True)
            bash_s, bash_t = _drain(fifo_recv, fifo, work, messages, 4, count, ours=False)
            rows.append(row(f"4 loops fifo-recv --count {count} draining {n:,}", ours_t["delivered"] / ours_s,
                            bash_t["delivered"] / bash_s, unit="msg/s", reference_tool="4 bash while read",
                            goal="ours: 0 lost/cut/dup",
                            note=f"whole messages/s; ours {_counts(ours_t)}; bash {_counts(bash_t)} "
                                 f"(bash reads a pipe byte by byte: competing loops cut lines)"))

        # (c)
        senders, per_sender = (4, 500) if quick else (16, 10_000)
        files, everything = _sender_files(work, senders, per_sender)
        total = sum(len(m) for m in everything)
        for framing in ("line", "length"):
            for name, argv in (("mkfifo-cat", [mkfifo_cat]), ("fifo-recv --follow", [fifo_recv, "--follow", "-f", framing])):
                out = os.path.join(work, f"collected.{framing}")
                elapsed, tally, statuses, last = _collect(argv, fifo, framing, files[framing], fifo_send, out, everything)
                bad = sum(1 for s in statuses if s != 0)
                rows.append(row(f"{senders} fifo-send x {per_sender:,} mixed -> {name}, {framing}", tally["delivered"],
                                tally["expected"], unit="msgs", reference_tool="sent", goal="ratio 1, 0 lost/cut/dup",
                                note=f"{_counts(tally)}; {tally['delivered'] / elapsed:,.0f} msg/s, "
                                     f"{total / elapsed / (1 << 20):,.1f} MiB/s; senders not 0: {bad}; "
                                     f"collector exit {last}"))
                os.unlink(out)
        for framing in files:
            for path in files[framing]:
                os.unlink(path)

        # (d)
        for count, n, every in (((1, 200, 0.5), (10, 2_000, 0.3)) if quick else ((1, 2_000, 1.0), (10, 20_000, 0.5))):
            for framing in ("line", "length"):
                elapsed, tally, kills, status = _killed_receivers(fifo_recv, fifo_send, fifo, work, framing, count, n,
                                                                  every)
                rows.append(row(f"4 loops fifo-recv --count {count} over {n:,}, {framing}, SIGKILLs", tally["delivered"],
                                tally["expected"], unit="msgs", reference_tool="sent", goal="ratio 1, 0 lost/cut/dup",
                                note=f"{_counts(tally)}; SIGKILLed: {kills[0]} receivers waiting for the lock, "
                                     f"{kills[1]} at any moment (none was waiting); "
                                     f"{tally['delivered'] / elapsed:,.0f} msg/s; sender exit {status}"))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return rows


if __name__ == "__main__":
    main_for(run)
