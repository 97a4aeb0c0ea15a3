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
