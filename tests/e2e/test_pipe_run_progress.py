"""pipe-run --progress: drawn on a terminal (pexpect), erased at the end, never elsewhere."""

import io
import os
import re
import signal
import sys

import pexpect
import pytest

from conftest import ENV, run, script

PIPE_RUN = script("pipe-run")
SIZE = 6 << 20

# Reads its stdin 64 KiB at a time, 25 ms apart (about 2.5 MiB/s), passing it on;
# with "talk", says "slow: started" and "slow: done" on stderr.
SLOW = """\
import os, sys, time
talk = sys.argv[1:] == ["talk"]
if talk:
    sys.stderr.write("slow: started\\n"); sys.stderr.flush()
while True:
    data = os.read(0, 65536)
    if not data:
        break
    os.write(1, data)
    time.sleep(0.025)
if talk:
    sys.stderr.write("slow: done\\n")
"""


@pytest.fixture
def files(tmp_path):
    (tmp_path / "big").write_bytes(os.urandom(1 << 16) * (SIZE >> 16))
    (tmp_path / "slow.py").write_text(SLOW)
    return tmp_path


def screen(data: bytes) -> list[str]:
    """What a terminal shows after data: carriage returns overwrite, newlines move on."""
    lines, column = [""], 0
    for char in data.decode("utf-8", "replace"):
        if char == "\r":
            column = 0
        elif char == "\n":
            lines.append("")
            column = 0
        else:
            line = lines[-1].ljust(column)
            lines[-1] = line[:column] + char + line[column + 1:]
            column += 1
    return [line.rstrip() for line in lines]


def spawn(args, cwd):
    child = pexpect.spawn(PIPE_RUN, args, cwd=str(cwd), timeout=30, env=ENV, dimensions=(24, 160))
    child.logfile_read = io.BytesIO()  # everything it wrote, for the screen at the end
    return child


def everything(child) -> bytes:
    return child.logfile_read.getvalue()


def stages(files, talk=False):
    return ["cat", f"{sys.executable} slow.py" + (" talk" if talk else ""), "wc -c"]


NAME = os.path.basename(sys.executable).encode()


def test_progress_shows_a_percentage_on_a_terminal_and_is_erased_at_the_end(files):
    child = spawn(["--progress", "-i", "big", "-o", "count", *stages(files)], files)
    try:
        child.expect(rb"\r(\d+)% [\d.]+[KM]iB of 6\.00MiB [\d.]+[KM]?i?B/s")
        first = int(child.match.group(1))
        child.expect(rb"\[1 cat\] r [\d.]+\w+/s w [\d.]+\w+/s \| \[2 " + NAME + rb"\] r ")
        child.expect(rb"ETA \d+:\d\d")
        child.expect(pexpect.EOF)
        output = everything(child)
        child.wait()
    finally:
        child.close(force=True)
    assert child.exitstatus == 0
    assert (files / "count").read_text().split() == [str(SIZE)]
    shown = [int(p) for p in re.findall(rb"\r(\d+)% ", output)]
    assert shown == sorted(shown) and max(shown) > first  # it moved, forwards only
    assert output.rstrip(b" ").endswith(b"\r")  # erased at the end...
    assert [line for line in screen(output) if line] == []  # ...leaving no trace


def test_nothing_is_drawn_when_stderr_is_not_a_terminal(files):
    result = run([PIPE_RUN, "--progress", "-i", "big", *stages(files, talk=True)], cwd=files, timeout=60)
    assert result.returncode == 0
    assert result.stdout.split() == [str(SIZE).encode()]
    assert result.stderr == b"slow: started\nslow: done\n"  # the stages' own lines, nothing of ours


def test_labelled_lines_go_above_the_line(files):
    child = spawn(["--progress", "--label", "-i", "big", "-o", "count", *stages(files, talk=True)], files)
    try:
        child.expect(rb"\r\d+% ")
        child.expect(pexpect.EOF)
        output = everything(child)
        child.wait()
    finally:
        child.close(force=True)
    assert child.exitstatus == 0
    assert [line for line in screen(output) if line] == [f"[2 {NAME.decode()}] slow: started", f"[2 {NAME.decode()}] slow: done"]


def test_a_file_the_first_stage_opens_itself_is_followed_by_name(files):
    child = spawn(["--progress", "-o", "count", "cat big", *stages(files)[1:]], files)
    try:
        child.expect(rb"\rbig \d+% [\d.]+[KM]iB of 6\.00MiB")
        child.expect(pexpect.EOF)
        child.wait()
    finally:
        child.close(force=True)
    assert child.exitstatus == 0


def test_input_that_is_not_a_file_shows_bytes_and_rate_only(files):
    child = spawn(["--progress", "-o", "count", f"head -c {SIZE} /dev/zero", *stages(files)[1:]], files)
    try:
        child.expect(rb"\r[\d.]+[KM]iB [\d.]+\w+/s \| \[1 head\]")
        child.expect(pexpect.EOF)
        output = everything(child)
        child.wait()
    finally:
        child.close(force=True)
    assert child.exitstatus == 0 and b"%" not in output


def test_erased_before_dying_of_a_passed_on_signal(files):
    child = spawn(["--progress", "-i", "big", "-o", "count", *stages(files)], files)
    try:
        child.expect(rb"\r\d+% ")
        os.kill(child.pid, signal.SIGTERM)  # passed on; the stages die of it, and so does pipe-run
        child.expect(pexpect.EOF)
        output = everything(child)
        child.wait()
    finally:
        child.close(force=True)
    assert child.signalstatus == signal.SIGTERM
    assert output.rstrip(b" ").endswith(b"\r")
    assert [line for line in screen(output) if line] == []


def test_a_terminal_of_unknown_width_gets_the_whole_line(files):
    # A pty whose size was never set (script -qc, docker exec -t, a serial
    # console) says 0 columns: the line is then drawn at the usual 79, not cut
    # to nothing but the first part with its last character gone.
    child = pexpect.spawn(PIPE_RUN, ["--progress", "-i", "big", "-o", "count", *stages(files)], cwd=str(files),
                          timeout=30, env=ENV, dimensions=(0, 0))
    try:
        child.expect(rb"\r\d+% [\d.]+[KM]iB of 6\.00MiB [\d.]+[KM]?i?B/s ETA \d+:\d\d \| \[1 cat\]")
        child.expect(pexpect.EOF)
        child.wait()
    finally:
        child.close(force=True)
    assert child.exitstatus == 0
