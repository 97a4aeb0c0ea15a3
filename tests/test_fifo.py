"""Library tests of pyipc.fifo: safe opening, creation and removal, sending and
receiving in-process (the commands are tested end to end in tests/e2e)."""

import os
import socket
import stat
import threading

import pytest

from pyipc.errors import UsageError
from pyipc.fifo import (FifoMissing, FifoReader, FifoTimeout, FifoWriter, NoReader, NotAFifo, Waited, Waiter,
                        open_fifo, parse_mode, remove_if_same)
from pyipc.framing import frame

pytestmark = pytest.mark.timeout(20)


def snapshot(path):
    info = os.lstat(path)
    return (info.st_ino, info.st_mode, info.st_size, info.st_mtime_ns)


def test_parse_mode():
    assert parse_mode("600") == 0o600
    assert parse_mode("0644") == 0o644
    assert parse_mode("0o640") == 0o640
    for bad in ("", "8", "1777", "rw", "-1", "0o"):
        with pytest.raises(UsageError):
            parse_mode(bad)


@pytest.mark.parametrize("access", ["r", "rw", "w"])
def test_refuses_everything_but_a_fifo(in_tmp, access):
    (in_tmp / "file").write_bytes(b"precious")
    (in_tmp / "dir").mkdir()
    os.mkfifo("fifo")
    os.symlink("fifo", "link")
    os.symlink("nowhere", "dangling")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind("sock")
    try:
        for name, kind in [("file", "regular file"), ("dir", "directory"), ("link", "symbolic link"),
                           ("dangling", "symbolic link"), ("sock", "socket")]:
            before = snapshot(name)
            with pytest.raises(NotAFifo, match=kind):
                open_fifo(name, access, create=True, wait=False)
            assert snapshot(name) == before
        assert (in_tmp / "file").read_bytes() == b"precious"
        assert os.readlink("dangling") == "nowhere"
    finally:
        sock.close()


def test_missing_path_without_create_creates_nothing(in_tmp):
    with pytest.raises(FifoMissing):
        open_fifo("p", "r")
    assert not os.path.lexists("p")


def test_create_uses_exact_mode_and_removes_only_its_own_fifo(in_tmp):
    old_umask = os.umask(0o077)
    try:
        fifo = open_fifo("p", "r", create=True, mode=0o644)
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(os.lstat("p").st_mode) == 0o644
    fifo.close()
    assert not os.path.lexists("p")

    fifo = open_fifo("q", "r", create=True)
    os.rename("q", "q.moved")
    os.mkfifo("q")  # someone else's FIFO now: not ours to remove
    fifo.close()
    assert stat.S_ISFIFO(os.lstat("q").st_mode) and os.path.lexists("q.moved")


def test_existing_fifo_is_used_and_left_alone(in_tmp):
    os.mkfifo("p", 0o640)
    os.chmod("p", 0o640)
    with open_fifo("p", "rw", create=True, mode=0o600):
        pass
    assert stat.S_IMODE(os.lstat("p").st_mode) == 0o640


def test_remove_if_same_compares_identity(in_tmp):
    os.mkfifo("p")
    info = os.lstat("p")
    assert not remove_if_same("p", (info.st_dev, info.st_ino + 1))
    assert os.path.lexists("p")
    assert remove_if_same("p", (info.st_dev, info.st_ino))
    assert not os.path.lexists("p")


def test_writer_no_wait_and_deadline(in_tmp):
    os.mkfifo("p")
    with pytest.raises(NoReader):
        open_fifo("p", "w", wait=False)
    with pytest.raises(FifoTimeout) as caught:
        open_fifo("p", "w", timeout=0.2)
    assert caught.value.waited is Waited.READER


def test_send_and_receive_in_process(in_tmp):
    os.mkfifo("p")
    messages = [b"", b"one", b"x" * 70000, b"two"]
    got = []
    with open_fifo("p", "r") as reader:
        def receive():
            got.extend(FifoReader(reader.fd, "line", Waiter(None), timeout=10).messages())
        thread = threading.Thread(target=receive)
        thread.start()
        with open_fifo("p", "w", timeout=10) as writer:
            sender = FifoWriter(writer.fd, "line", Waiter(None), timeout=10)
            sender.send_framed(b"".join(frame(m, "line") for m in messages))
            assert sender.written == 4
            sender.wait_read_out()
        thread.join(10)
    assert got == messages


def test_exact_messages_leave_the_rest_in_the_fifo(in_tmp):
    os.mkfifo("p")
    for framing in ("line", "nul", "length"):
        with open_fifo("p", "r") as reader:
            write_end = os.open("p", os.O_WRONLY)
            try:
                os.write(write_end, b"".join(frame(m, framing) for m in (b"first", b"second", b"third")))
                first = list(FifoReader(reader.fd, framing, Waiter(None), timeout=5).messages(1))
                assert first == [b"first"]
                assert os.read(reader.fd, 100) == b"".join(frame(m, framing) for m in (b"second", b"third"))
            finally:
                os.close(write_end)


def test_receiver_deadline_without_writer(in_tmp):
    os.mkfifo("p")
    with open_fifo("p", "r") as reader:
        with pytest.raises(FifoTimeout) as caught:
            list(FifoReader(reader.fd, "line", Waiter(None), timeout=0.2).blocks())
        assert caught.value.waited is Waited.WRITER


@pytest.mark.timeout(30)
def test_create_is_0600_and_cleaned_up_whatever_the_umask():
    # As a user who is not root (root opens a FIFO of mode 000 all the same):
    # with umask 0777, mkfifo(0600) used to make a FIFO of mode 000 that its
    # maker could not open; the open failed, and the FIFO was left behind.
    import shutil
    import subprocess
    import tempfile

    from conftest import ROOT

    if os.geteuid() != 0 or not shutil.which("setpriv") or not os.path.exists("/usr/bin/python3"):
        pytest.skip("needs root, setpriv and /usr/bin/python3 to run as nobody")
    work = tempfile.mkdtemp(prefix="pyipc-umask.", dir="/tmp")
    try:
        # a copy of the package that nobody can read (the checkout may be under /root)
        shutil.copytree(ROOT / "pyipc", os.path.join(work, "pyipc"),
                        ignore=shutil.ignore_patterns("__pycache__", "*.so"))
        for top, dirs, files in os.walk(work):
            os.chmod(top, 0o777)
        code = ("import os, stat, sys\n"
                "sys.path.insert(0, sys.argv[1])\n"
                "os.umask(0o777)\n"
                "from pyipc.fifo import open_fifo\n"
                "with open_fifo('q', 'r', create=True) as fifo:\n"
                "    print(oct(stat.S_IMODE(os.fstat(fifo.fd).st_mode)))\n"
                "print(os.path.exists('q'))\n")
        result = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                                 "/usr/bin/python3", "-c", code, work], cwd=work, capture_output=True, timeout=20)
        assert result.stdout.split() == [b"0o600", b"False"], result.stderr.decode()
    finally:
        shutil.rmtree(work, ignore_errors=True)


def test_lock_records_are_struct_flock():
    # pyipc.fifo.locks writes struct flock out by hand (the struct module costs start-up)
    import fcntl
    import struct

    from pyipc.fifo.locks import _FLOCK, _record

    for kind, start, length in ((fcntl.F_WRLCK, 0, 0), (fcntl.F_UNLCK, 1 + (2**22 << 16) + 65535, 1),
                                (fcntl.F_RDLCK, 2**62, 2**40)):
        assert _record(kind, start, length) == struct.pack(_FLOCK, kind, os.SEEK_SET, start, length, 0)
