"""pyipc.progress: positions and rates read from /proc, no byte copied."""

from __future__ import annotations

import os
import subprocess
import sys

from pyipc.progress import Progress, format_bytes, read_io, read_position

from conftest import wait_for


class FakeSupervisor:
    def __init__(self, pids):
        self.children = {pid: None for pid in pids}
        self.timers = []

    def after(self, seconds, callback):
        self.timers.append((seconds, callback))


class FakeStream:
    fd = -1  # no terminal: lines are cut at 79 columns

    def __init__(self):
        self.shown = []

    def status(self, text):
        self.shown.append(text)

    def attach(self, sup):
        pass


def test_format_bytes():
    assert [format_bytes(n) for n in (0, 1023, 1024, 1500, 10 << 10, 512 << 20, 5 << 30)] == \
        ["0B", "1023B", "1.00KiB", "1.46KiB", "10.0KiB", "512MiB", "5.00GiB"]


def test_read_position_and_io_of_our_own_process(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"x" * 1000)
    with open(path, "rb", buffering=0) as f:
        os.read(f.fileno(), 300)
        pos, flags = read_position(os.getpid(), f.fileno())
        assert pos == 300 and flags & os.O_ACCMODE == os.O_RDONLY
    rchar, wchar = read_io(os.getpid())
    assert rchar >= 300 and wchar >= 0
    assert read_position(os.getpid(), 999) is None


def test_input_not_a_file_shows_bytes_read_only():
    code = "import os, time; n = 0\nwhile n < 300000: n += len(os.read(0, 65536))\nprint('ok', flush=True); time.sleep(30)"
    reader = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        reader.stdin.write(b"z" * 300000)
        reader.stdin.flush()
        assert reader.stdout.readline() == b"ok\n"
        progress = Progress(FakeStream(), ["python3"])
        progress.started(FakeSupervisor([reader.pid]), [reader.pid])
        line = progress.line(1e9)
        assert "%" not in line and "KiB" in line.split(" | ")[0], line
        assert line.split(" | ")[1].startswith("[1 python3] r "), line
    finally:
        reader.kill()
        reader.wait()
        reader.stdin.close()
        reader.stdout.close()


def test_percent_of_stdin_and_of_a_file_the_stage_opened(tmp_path):
    path = tmp_path / "big"
    path.write_bytes(b"y" * (1 << 20))
    code = ("import os, sys, time; os.read(0, 1 << 18); f = open(sys.argv[1], 'rb'); f.read(1 << 19); "
            "print('ok', flush=True); time.sleep(30)")
    with open(path, "rb") as stdin:
        reader = subprocess.Popen([sys.executable, "-c", code, str(path)], stdin=stdin, stdout=subprocess.PIPE)
    try:
        assert reader.stdout.readline() == b"ok\n"
        progress = Progress(FakeStream(), ["python3", "wc"])
        sup = FakeSupervisor([reader.pid])
        progress.started(sup, [reader.pid, None])
        line = progress.line(1e9)
        assert line.startswith("25% 256KiB of 1.00MiB"), line  # stdin: a regular file, a quarter read
        assert line.endswith("| [2 wc] -"), line
        with open(os.devnull) as null:  # the same with stdin not a file: the file it opened, by name
            other = subprocess.Popen([sys.executable, "-c", code, str(path)], stdin=null, stdout=subprocess.PIPE)
        try:
            assert other.stdout.readline() == b"ok\n"
            progress = Progress(FakeStream(), ["python3"])
            progress.started(FakeSupervisor([other.pid]), [other.pid])
            assert progress.line(1e9).startswith("big 50% 512KiB of 1.00MiB"), progress.line(1e9)
        finally:
            other.kill()
            other.wait()
            other.stdout.close()
    finally:
        reader.kill()
        reader.wait()
        reader.stdout.close()


def test_an_ended_stage_says_done_and_ticks_rearm():
    sup = FakeSupervisor([])
    stream = FakeStream()
    progress = Progress(stream, ["true"])
    progress.started(sup, [os.getpid() + 10**6])
    assert sup.timers and sup.timers[0][0] == 0.1
    sup.timers.pop()[1]()
    assert stream.shown == ["[1 true] done"] and len(sup.timers) == 1
    progress.finish()
    assert stream.shown[-1] is None
    sup.timers.pop()[1]()  # a tick after finish draws nothing
    assert stream.shown[-1] is None and not sup.timers


def test_the_line_is_cut_to_whole_parts_within_the_width():
    progress = Progress(FakeStream(), [f"stage-with-a-long-name-{i}" for i in range(10)])
    progress.started(FakeSupervisor([]), [None] * 10)
    line = progress.line(1e9)
    assert len(line) <= 79 and line.endswith(" -")
