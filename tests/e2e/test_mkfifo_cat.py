"""mkfifo-cat end to end, through the installed console script."""

import os
import signal
import stat
import select
import subprocess

import pytest
from conftest import ENV, holds_open, proc_status, run, script, wait_for

pytestmark = pytest.mark.timeout(30)

MKFIFO_CAT = script("mkfifo-cat")
FIFO_SEND = script("fifo-send")



def start(janitor, *args, **kwargs):
    kwargs.setdefault("stdout", subprocess.PIPE)
    kwargs.setdefault("stderr", subprocess.PIPE)
    kwargs.setdefault("env", ENV)
    return janitor.popen([MKFIFO_CAT, *args], **kwargs)


def test_two_successive_writers_both_reach_it(in_tmp, janitor):
    with open("out", "wb") as out:
        proc = start(janitor, "p", stdout=out)
    wait_for(lambda: holds_open(proc.pid, "p"), what="mkfifo-cat to open p")
    assert run([FIFO_SEND, "p", "first writer"], env=ENV).returncode == 0
    with open("p", "wb") as writer:  # a plain writer, which opens and closes
        writer.write(b"second writer\n")
    assert run([FIFO_SEND, "p", "third writer"], env=ENV).returncode == 0
    wait_for(lambda: (in_tmp / "out").read_bytes().count(b"\n") == 3, what="three lines")
    assert (in_tmp / "out").read_bytes() == b"first writer\nsecond writer\nthird writer\n"
    assert proc.poll() is None, "it must keep serving after writers close"
    os.kill(proc.pid, signal.SIGTERM)
    assert proc.wait(10) == -signal.SIGTERM
    assert stat.S_ISFIFO(os.lstat("p").st_mode), "the FIFO stays by default (RemoveOnStop=no)"
    assert proc.stderr.read() == b""


def test_default_mode_is_0600_whatever_the_umask(in_tmp, janitor):
    proc = start(janitor, "p", umask=0)
    wait_for(lambda: holds_open(proc.pid, "p"), what="mkfifo-cat to open p")
    assert stat.S_IMODE(os.lstat("p").st_mode) == 0o600
    proc2 = start(janitor, "--mode", "644", "q", umask=0o077)
    wait_for(lambda: holds_open(proc2.pid, "q"), what="mkfifo-cat to open q")
    assert stat.S_IMODE(os.lstat("q").st_mode) == 0o644
    assert stat.S_ISFIFO(os.lstat("q").st_mode)


def test_existing_fifo_keeps_its_mode_and_is_not_removed(in_tmp, janitor):
    os.mkfifo("p")
    os.chmod("p", 0o640)
    before = os.lstat("p")
    proc = start(janitor, "p")
    wait_for(lambda: holds_open(proc.pid, "p"), what="mkfifo-cat to open p")
    os.kill(proc.pid, signal.SIGTERM)
    assert proc.wait(10) == -signal.SIGTERM
    after = os.lstat("p")
    assert (after.st_ino, stat.S_IMODE(after.st_mode)) == (before.st_ino, 0o640)


def test_sigterm_removes_its_fifo_and_only_that(in_tmp, janitor):
    proc = start(janitor, "--remove", "p")
    wait_for(lambda: holds_open(proc.pid, "p"), what="mkfifo-cat to open p")
    os.rename("p", "p.moved")
    os.mkfifo("p")  # someone else's FIFO now stands at PATH
    other = os.lstat("p").st_ino
    os.kill(proc.pid, signal.SIGTERM)
    assert proc.wait(10) == -signal.SIGTERM
    assert os.lstat("p").st_ino == other
    assert os.path.lexists("p.moved")


def test_keep_leaves_the_fifo(in_tmp, janitor):
    proc = start(janitor, "--keep", "p")
    wait_for(lambda: holds_open(proc.pid, "p"), what="mkfifo-cat to open p")
    os.kill(proc.pid, signal.SIGHUP)
    assert proc.wait(10) == -signal.SIGHUP
    assert stat.S_ISFIFO(os.lstat("p").st_mode)


def test_once_stops_at_the_first_eof(in_tmp, janitor):
    proc = start(janitor, "--once", "--remove", "p")
    wait_for(lambda: holds_open(proc.pid, "p"), what="mkfifo-cat to open p")
    assert run([FIFO_SEND, "p"], input=b"1\n2\n3\n", env=ENV).returncode == 0
    out, err = proc.communicate(timeout=10)
    assert (proc.returncode, out, err) == (0, b"1\n2\n3\n", b"")
    assert not os.path.lexists("p")


def test_sigint_ends_it_even_when_stdout_is_stuck(in_tmp, janitor):
    read_end, write_end = os.pipe()
    try:
        proc = start(janitor, "--remove", "p", stdout=write_end)
        wait_for(lambda: holds_open(proc.pid, "p"), what="mkfifo-cat to open p")
        writer = janitor.popen([FIFO_SEND, "p"], stdin=subprocess.PIPE, env=ENV)

        def stdout_full():  # our copy of the write end: not writable means the pipe is full
            if select.select([], [write_end], [], 0)[1]:
                writer.stdin.write(b"x" * 4000 + b"\n")
                writer.stdin.flush()
                return False
            return True
        wait_for(stdout_full, what="mkfifo-cat's stdout pipe to fill up")
        writer.stdin.write(b"y" * 4000 + b"\n")
        writer.stdin.flush()

        def blocked_writing():
            with open(f"/proc/{proc.pid}/wchan") as wchan:
                return wchan.read().startswith("pipe_wait")  # pipe_wait_writable on 5.x and later
        wait_for(blocked_writing, what="mkfifo-cat to block writing to its stdout")
        # The y line must be in the FIFO, not still in fifo-send (under load it
        # can be): the drain takes only what is already queued.
        import fcntl
        import termios

        look = os.open("p", os.O_RDONLY | os.O_NONBLOCK)  # never read: only FIONREAD
        try:
            wait_for(lambda: int.from_bytes(fcntl.ioctl(look, termios.FIONREAD, b"\0" * 4), "little") >= 4001,
                     what="the y line queued in the FIFO")
        finally:
            os.close(look)
        # The first SIGINT starts the drain of what is queued, which waits for
        # room in stdout; a second one ends even that.
        os.kill(proc.pid, signal.SIGINT)

        def settled():  # the SIGINT delivered, and mkfifo-cat asleep again (draining) or gone
            status = proc_status(proc.pid)
            if proc.poll() is not None or not status:
                return True
            pending = int(status["SigPnd"], 16) | int(status["ShdPnd"], 16)
            with open(f"/proc/{proc.pid}/wchan") as wchan:
                asleep = any(word in wchan.read() for word in ("poll", "pipe_wait"))
            return asleep and not pending & (1 << (signal.SIGINT - 1))
        wait_for(settled, what="mkfifo-cat to take the SIGINT and drain, waiting for room in its stdout")
        assert proc.poll() is None, (proc.returncode, proc.stderr.read())
        os.kill(proc.pid, signal.SIGINT)
        assert proc.wait(10) == -signal.SIGINT
        assert not os.path.lexists("p"), "a writer alone does not keep it"
    finally:
        os.close(read_end)
        os.close(write_end)


def test_stdout_reader_gone_dies_of_sigpipe_and_cleans_up(in_tmp, janitor):
    read_end, write_end = os.pipe()
    proc = start(janitor, "--remove", "p", stdout=write_end)
    os.close(write_end)
    os.close(read_end)
    wait_for(lambda: holds_open(proc.pid, "p"), what="mkfifo-cat to open p")
    run([FIFO_SEND, "--written", "p", "hello"], env=ENV)
    assert proc.wait(10) == -signal.SIGPIPE
    assert not os.path.lexists("p")


def test_timeout_when_nothing_arrives(in_tmp):
    result = run([MKFIFO_CAT, "--remove", "--timeout", "0.3", "p"], env=ENV)
    assert result.returncode == 124
    assert result.stderr.decode().startswith("mkfifo-cat: nothing arrived within 0.3s")
    assert not os.path.lexists("p")



def test_usage_errors_create_nothing(in_tmp):
    for args, word in ([["--mode", "999", "p"], "--mode"], [["--timeout", "soon", "p"], "--timeout"], [[], "PATH"]):
        result = run([MKFIFO_CAT, *args], env=ENV)
        assert result.returncode == 2, args
        lines = result.stderr.decode().splitlines()
        assert lines[0].startswith("mkfifo-cat: ") and word in lines[0]
        assert lines[1] == "Try 'mkfifo-cat --help' for more information."
        assert "Traceback" not in result.stderr.decode()
    assert os.listdir(".") == []


def test_help_and_man_page(in_tmp):
    result = run([MKFIFO_CAT, "--help"], env=ENV)
    assert result.returncode == 0 and b"--once" in result.stdout
    page = os.path.join(os.path.dirname(__file__), "..", "..", "man", "mkfifo-cat.1")
    assert "--once" in open(page).read().replace("\\-", "-")


def test_stdout_that_splice_refuses_falls_back_to_read_and_write(in_tmp, janitor):
    (in_tmp / "log").write_bytes(b"old\n")
    with open("log", "ab") as log:  # splice(2) into an O_APPEND file fails with EINVAL
        proc = start(janitor, "--once", "p", stdout=log)
    wait_for(lambda: holds_open(proc.pid, "p"), what="mkfifo-cat to open p")
    assert run([FIFO_SEND, "p", "new1", "new2"], env=ENV).returncode == 0
    assert proc.wait(10) == 0
    assert (in_tmp / "log").read_bytes() == b"old\nnew1\nnew2\n"


@pytest.mark.timeout(30)
def test_a_signal_ignored_at_start_stays_ignored(in_tmp, janitor):
    # nohup mkfifo-cat: the terminal closing (SIGHUP) must not end the server;
    # it used to install its handler over the ignored SIGHUP and die of it.
    proc = janitor.popen(["bash", "-c", f"trap '' HUP; exec {MKFIFO_CAT} --remove q"], stdout=subprocess.PIPE, env=ENV)
    wait_for(lambda: os.path.exists("q") and holds_open(proc.pid, str(in_tmp / "q")), 10, "mkfifo-cat serving q")
    proc.send_signal(signal.SIGHUP)
    fd = os.open("q", os.O_WRONLY)
    os.write(fd, b"still here\n")
    os.close(fd)
    assert proc.stdout.readline() == b"still here\n"  # it was not ended by the HUP
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(10) == -signal.SIGTERM
    assert not os.path.exists("q")
