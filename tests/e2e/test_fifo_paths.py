"""The safe-path rules shared by mkfifo-cat, fifo-send and fifo-recv: whatever
is at PATH and is not a FIFO is refused with one line, exit 1, and left
exactly as it was (a socket too, though a non-blocking writer gets ENXIO from
it just as from a FIFO with no reader); nothing is created beside it."""

import os
import socket

import pytest

from conftest import ENV, run, script

INVOCATIONS = {
    "mkfifo-cat": ["--timeout", "5", "p"],
    "fifo-send": ["--create", "--no-wait", "p", "x"],
    "fifo-recv": ["--create", "--timeout", "5", "p"],
}
KINDS = ["file", "directory", "symlink-to-fifo", "dangling-symlink", "socket"]


def make(kind, where):
    if kind == "file":
        (where / "p").write_bytes(b"precious\n")
    elif kind == "directory":
        os.mkdir("p")
    elif kind == "symlink-to-fifo":
        os.mkfifo("real")
        os.symlink("real", "p")
    elif kind == "dangling-symlink":
        os.symlink("nowhere", "p")
    else:
        sock = socket.socket(socket.AF_UNIX)
        sock.bind("p")
        return sock
    return None


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("prog", sorted(INVOCATIONS))
def test_refuses_what_is_not_a_fifo_and_leaves_it_alone(in_tmp, prog, kind):
    sock = make(kind, in_tmp)
    try:
        before = os.lstat("p")
        result = run([script(prog), *INVOCATIONS[prog]], env=ENV)
        after = os.lstat("p")
        lines = result.stderr.decode().splitlines()
        assert result.returncode == 1, lines
        assert len(lines) == 1 and lines[0].startswith(f"{prog}: 'p' is a") and "not a FIFO" in lines[0]
        assert (after.st_ino, after.st_mode, after.st_size, after.st_mtime_ns) == \
            (before.st_ino, before.st_mode, before.st_size, before.st_mtime_ns)
        if kind == "file":
            assert (in_tmp / "p").read_bytes() == b"precious\n"
        assert sorted(os.listdir(".")) == sorted(["p"] + (["real"] if kind == "symlink-to-fifo" else []))
    finally:
        if sock:
            sock.close()


# -- closed standard streams -------------------------------------------------------
# A std fd closed at start-up must stay closed for I/O (EBADF, named as stdin or
# stdout, not as the FIFO) and must not be reused by what is opened next (the
# signal wakeup pipe took fd 1 before, and its EBADF was blamed on the FIFO).

def _feed(fifo, data: bytes, timeout: float = 10.0) -> None:
    """Open fifo for writing once a reader has it (non-blocking, with a deadline), write data."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        try:
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            break
        except (OSError, FileNotFoundError):
            if time.monotonic() > deadline:
                raise AssertionError(f"no reader opened {fifo}")
            time.sleep(0.005)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


@pytest.mark.timeout(30)
@pytest.mark.parametrize("prog", ["mkfifo-cat", "fifo-recv"])
def test_closed_stdout_is_a_write_error_not_the_fifo(prog, in_tmp, janitor):
    import subprocess

    args = ["--once", "--remove", "p"] if prog == "mkfifo-cat" else ["--create", "p"]
    proc = janitor.popen(["bash", "-c", 'exec "$0" "$@" >&-', script(prog), *args],
                         stderr=subprocess.PIPE, env=ENV)
    if prog == "mkfifo-cat":
        _feed("p", b"hello\n")
    # fifo-recv checks its stdout before it takes anything from the FIFO (it
    # could not pass on what it took): it fails before any writer comes.
    assert proc.wait(10) == 1
    assert proc.stderr.read().decode() == f"{prog}: write error: Bad file descriptor\n"
    assert not os.path.exists("p")  # it made the FIFO, and removed it


@pytest.mark.timeout(30)
def test_fifo_send_with_stdin_closed_says_so_and_sends_nothing(in_tmp):
    os.mkfifo("p")
    reader = os.open("p", os.O_RDONLY | os.O_NONBLOCK)
    try:
        result = run(["bash", "-c", 'exec "$0" "$@" <&-', script("fifo-send"), "p"], env=ENV)
        assert result.returncode == 1
        assert result.stderr.decode() == "fifo-send: reading stdin: Bad file descriptor\n"
        assert os.read(reader, 100) == b""
    finally:
        os.close(reader)
    assert os.path.exists("p")  # not ours to remove
