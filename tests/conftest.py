"""Shared test helpers: find the installed console scripts, wait for events,
and clean up every process a test starts, by pid."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import pytest

from pyipc.procfs import holds_open  # noqa: F401  (for the tests: an event to wait for)

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = Path(sysconfig.get_path("scripts"))


def script(name: str) -> str:
    """Path of an installed console script (the venv's bin/), as a user runs it."""
    path = SCRIPTS / name
    if not path.exists():
        pytest.fail(f"{name} is not installed in {SCRIPTS}: run the README's test command")
    return str(path)


def wait_for(predicate, timeout: float = 10.0, what: str = "condition"):
    """Poll predicate until it returns something truthy; fail after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.005)


def proc_status(pid: int) -> dict[str, str]:
    """/proc/PID/status as a dict; {} if the process is gone."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return {}
    return dict(line.split(":\t", 1) for line in text.splitlines() if ":\t" in line)


def proc_stat(pid: int):
    """(name, state, ppid, pgid) from /proc/PID/stat, or None."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    name = text[text.index("(") + 1 : text.rindex(")")]
    fields = text[text.rindex(")") + 2 :].split()
    return name, fields[0], int(fields[1]), int(fields[2])


def holds_pidfd(pid: int) -> bool:
    """True once pid has a pidfd open (sigsend --wait, reap-watch --pid are waiting)."""
    try:
        return any(os.readlink(f"/proc/{pid}/fd/{fd}") == "anon_inode:[pidfd]" for fd in os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return False


def blocked_writing_a_pipe(pid: int) -> bool:
    """True while pid sleeps in write(2) on a full pipe or FIFO."""
    try:
        return "pipe_write" in Path(f"/proc/{pid}/wchan").read_text()  # anon_pipe_write on newer kernels
    except FileNotFoundError:
        return False


def drain(fd) -> bytes:
    """Everything queued in a pipe or FIFO behind our non-blocking read end."""
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 1 << 16)
        except BlockingIOError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def alive(pid: int) -> bool:
    """True while pid exists and is not a zombie."""
    stat = proc_stat(pid)
    return stat is not None and stat[1] not in ("Z", "X")


def children_of(pid: int) -> list[int]:
    """Direct children of pid, from /proc/PID/task/*/children."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            found += [int(x) for x in task.read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            pass
    return found


def descendants_of(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        for child in children_of(todo.pop()):
            out.append(child)
            todo.append(child)
    return out


class ProcessJanitor:
    """Remembers every pid a test started (or learned of) and kills what is left
    at teardown: by pid, never by name."""

    def __init__(self):
        self.pids: list[int] = []
        self.popens: list[subprocess.Popen] = []

    def track(self, pid_or_popen):
        if isinstance(pid_or_popen, subprocess.Popen):
            self.popens.append(pid_or_popen)
            self.pids.append(pid_or_popen.pid)
        else:
            self.pids.append(int(pid_or_popen))
        return pid_or_popen

    def popen(self, args, **kwargs) -> subprocess.Popen:
        kwargs.setdefault("stdin", subprocess.DEVNULL)
        return self.track(subprocess.Popen(args, **kwargs))

    def cleanup(self):
        # Descendants first (they may have been adopted elsewhere), then the pids.
        everyone = []
        for pid in self.pids:
            everyone += descendants_of(pid)
        everyone += self.pids
        for pid in everyone:
            if alive(pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
        for popen in self.popens:
            try:
                popen.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
            for stream in (popen.stdin, popen.stdout, popen.stderr):
                if stream:
                    stream.close()


@pytest.fixture
def janitor():
    keeper = ProcessJanitor()
    try:
        yield keeper
    finally:
        keeper.cleanup()


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    """Run the test inside its own temporary directory."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(args, *, timeout: float = 30, input=None, **kwargs) -> subprocess.CompletedProcess:
    """subprocess.run with a timeout and captured bytes output."""
    kwargs.setdefault("stdout", subprocess.PIPE)
    kwargs.setdefault("stderr", subprocess.PIPE)
    if input is None:
        kwargs.setdefault("stdin", subprocess.DEVNULL)
    return subprocess.run(args, timeout=timeout, input=input, **kwargs)


def shell_status(returncode: int) -> int:
    """subprocess gives -N for a signal death; the shell says 128+N."""
    return 128 - returncode if returncode < 0 else returncode


PYTHON = sys.executable

# The environment here sets PYTHONUNBUFFERED=1; the commands must not depend
# on it, so tests that watch output as it arrives run them without it.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
