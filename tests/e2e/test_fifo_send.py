"""fifo-send end to end, through the installed console script."""

import os
import random
import signal
import stat
import subprocess
import sys
import textwrap

import pytest
from conftest import ENV, ROOT, blocked_writing_a_pipe, drain, proc_stat, run, script, wait_for

pytestmark = pytest.mark.timeout(30)

FIFO_SEND = script("fifo-send")
FIFO_RECV = script("fifo-recv")
MKFIFO_CAT = script("mkfifo-cat")


def message(sender: int, number: int, size: int) -> bytes:
    """A line of exactly size bytes (plus newline) that says who sent it and
    whose filler shows any foreign byte landing inside it."""
    head = f"{sender:02d}:{number:04d}:{size}:".encode()
    filler = bytes([97 + (sender * 7 + number) % 26])
    return head + filler * (size - len(head))


@pytest.mark.timeout(90)
def test_concurrent_senders_never_interleave(in_tmp, janitor):
    senders, per_sender = 8, 500
    rng = random.Random(2024)
    expected = {}
    for i in range(senders):
        lines = []
        for j in range(per_sender):
            roll = rng.random()
            if roll < 0.03:
                size = rng.randint(40000, 65535)  # larger than the pipe's default 64 KiB with its newline, at the top
            elif roll < 0.13:
                size = rng.randint(3900, 4300)  # around PIPE_BUF
            else:
                size = rng.randint(20, 300)
            line = message(i, j, size)
            expected[(i, j)] = line
            lines.append(line + b"\n")
        (in_tmp / f"in{i}").write_bytes(b"".join(lines))
    total = sum(len(v) + 1 for v in expected.values())

    with open("out", "wb") as out:
        server = janitor.popen([MKFIFO_CAT, "p"], stdout=out, env=ENV)
    wait_for(lambda: os.path.exists("p"), what="the FIFO")
    procs = []
    for i in range(senders):
        with open(f"in{i}", "rb") as stdin:
            procs.append(janitor.popen([FIFO_SEND, "--timeout", "30", "p"], stdin=stdin,
                                       stderr=subprocess.PIPE, env=ENV))
    for proc in procs:
        assert proc.wait(60) == 0, proc.stderr.read()
    wait_for(lambda: os.path.getsize("out") >= total, timeout=30, what="every byte to arrive")
    os.kill(server.pid, signal.SIGTERM)
    server.wait(10)

    data = (in_tmp / "out").read_bytes()
    assert len(data) == total and data.endswith(b"\n")
    seen = set()
    for line in data[:-1].split(b"\n"):
        sender, number, _ = line.split(b":", 2)
        key = (int(sender), int(number))
        assert line == expected[key], f"message {key} arrived damaged (interleaved?)"
        assert key not in seen, f"message {key} arrived twice"
        seen.add(key)
    assert len(seen) == senders * per_sender


def test_messages_from_arguments_and_stdin(in_tmp, janitor):
    os.mkfifo("p")
    receiver = janitor.popen([FIFO_RECV, "--follow", "--count", "5", "p"], stdout=subprocess.PIPE, env=ENV)
    assert run([FIFO_SEND, "p", "one", "", "two"], env=ENV).returncode == 0
    assert run([FIFO_SEND, "p"], input=b"three\nlast without newline", env=ENV).returncode == 0
    out, _ = receiver.communicate(timeout=20)
    assert out == b"one\n\ntwo\nthree\nlast without newline\n"


def test_no_wait_fails_fast_without_a_reader(in_tmp):
    os.mkfifo("p")
    result = run([FIFO_SEND, "--no-wait", "p", "hello"], timeout=10, env=ENV)
    assert result.returncode == 1
    assert result.stderr.decode() == "fifo-send: no reader: nobody has 'p' open for reading\n"
    assert stat.S_ISFIFO(os.lstat("p").st_mode)


def test_deadline_without_a_reader_removes_its_fifo(in_tmp):
    result = run([FIFO_SEND, "--create", "--timeout", "0.3", "p", "hello"], env=ENV)
    assert result.returncode == 124
    assert result.stderr.decode() == "fifo-send: no reader came within 0.3s\n"
    assert not os.path.lexists("p")


def test_deadline_with_a_stalled_reader_leaves_only_whole_messages(in_tmp):
    os.mkfifo("p")
    stalled = os.open("p", os.O_RDONLY | os.O_NONBLOCK)  # a reader that never reads
    try:
        lines = b"".join(b"message %07d\n" % i for i in range(200000))  # 3.2 MB: more than a grown pipe
        result = run([FIFO_SEND, "--timeout", "0.3", "p"], input=lines, env=ENV)
        assert result.returncode == 124
        assert "nothing of the next message was written" in result.stderr.decode()
        queued = drain(stalled)
    finally:
        os.close(stalled)
    assert queued and lines.startswith(queued) and queued.endswith(b"\n")


def test_deadline_never_leaves_half_a_large_message(in_tmp):
    os.mkfifo("p")
    stalled = os.open("p", os.O_RDONLY | os.O_NONBLOCK)
    try:
        first, second = b"a" * 600000 + b"\n", b"b" * 600000 + b"\n"  # a stream: the pipe grows to 1 MiB
        result = run([FIFO_SEND, "--timeout", "0.3", "p"], input=first + second, env=ENV)
        assert result.returncode == 124, result.stderr
        queued = drain(stalled)
    finally:
        os.close(stalled)
    assert queued == first


def test_reader_gone_reports_what_was_delivered(in_tmp, janitor):
    os.mkfifo("p")
    sender = janitor.popen([FIFO_SEND, "p"], stdin=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV)
    sender.stdin.write(b"one\n")
    sender.stdin.flush()
    got = run([FIFO_RECV, "--count", "1", "--timeout", "10", "p"], env=ENV)
    assert (got.returncode, got.stdout) == (0, b"one\n")
    sender.stdin.write(b"two\n")
    sender.stdin.close()
    assert sender.wait(10) == 1
    assert sender.stderr.read().decode() == "fifo-send: the reader went away (EPIPE) after 1 message read\n"


@pytest.mark.parametrize("speedups", ["C helper", "pure Python"])
def test_reader_gone_mid_stream_counts_exactly_what_was_written(in_tmp, janitor, speedups):
    # A long stream from a pipe (nothing to re-read): the reader takes part of
    # it, fifo-send fills the FIFO and blocks; it is stopped, the test drains
    # every byte it had written and closes the FIFO, and it is continued: its
    # next write meets EPIPE, and the count it reports must be exactly the
    # number of lines the FIFO received. Both byte counters are checked.
    env = dict(ENV, PYIPC_NO_SPEEDUPS="1") if speedups == "pure Python" else ENV
    os.mkfifo("p")
    reader = os.open("p", os.O_RDONLY | os.O_NONBLOCK)
    try:
        feeder = janitor.popen(["seq", "3000000"], stdout=subprocess.PIPE)
        sender = janitor.popen([FIFO_SEND, "p"], stdin=feeder.stdout, stderr=subprocess.PIPE, env=env)
        feeder.stdout.close()
        received = bytearray()

        def read_some():
            try:
                received.extend(os.read(reader, 1 << 16))
            except BlockingIOError:
                pass
            return len(received) >= 3_000_000

        wait_for(read_some, 20, "3 MB through the FIFO")

        wait_for(lambda: blocked_writing_a_pipe(sender.pid), 20, "fifo-send blocked on the full FIFO")
        os.kill(sender.pid, signal.SIGSTOP)
        wait_for(lambda: proc_stat(sender.pid)[1] == "T", 10, "fifo-send stopped")
        received += drain(reader)
    finally:
        os.close(reader)
    os.kill(sender.pid, signal.SIGCONT)
    assert sender.wait(10) == 1
    assert received.endswith(b"\n")
    lines = received.count(b"\n")
    assert received.split(b"\n")[:-1] == [b"%d" % i for i in range(1, lines + 1)]
    assert 1_000_000 > lines > 300_000
    assert sender.stderr.read().decode() == f"fifo-send: the reader went away (EPIPE) after {lines} messages read\n"


def test_message_with_its_own_terminator_sends_nothing(in_tmp):
    os.mkfifo("p")
    reader = os.open("p", os.O_RDONLY | os.O_NONBLOCK)
    try:
        result = run([FIFO_SEND, "p", "fine", "two\nlines"], env=ENV)
        assert result.returncode == 2
        lines = result.stderr.decode().splitlines()
        assert lines[0].startswith("fifo-send: message contains a newline") and "nothing of it was sent" in lines[0]
        assert lines[1] == "Try 'fifo-send --help' for more information."
        assert drain(reader) == b""
    finally:
        os.close(reader)


def test_stdin_cut_inside_a_length_frame(in_tmp, janitor):
    os.mkfifo("p")
    receiver = janitor.popen([FIFO_RECV, "--framing", "length", "--json", "p"], stdout=subprocess.PIPE, env=ENV)
    whole = (3).to_bytes(4, "big") + b"abc"
    cut = (10).to_bytes(4, "big") + b"short"
    result = run([FIFO_SEND, "--framing", "length", "p"], input=whole + cut, env=ENV)
    assert result.returncode == 1
    assert "ends inside a message" in result.stderr.decode()
    out, _ = receiver.communicate(timeout=10)
    assert out == b'{"data": "abc"}\n'


def test_missing_path_without_create_creates_nothing(in_tmp):
    result = run([FIFO_SEND, "p", "x"], env=ENV)
    assert result.returncode == 1
    assert result.stderr.decode() == "fifo-send: 'p': No such FIFO (--create makes it)\n"
    assert os.listdir(".") == []


def test_sighup_while_waiting_removes_its_fifo(in_tmp, janitor):
    proc = janitor.popen([FIFO_SEND, "--create", "p", "x"], stderr=subprocess.PIPE, env=ENV)
    wait_for(lambda: os.path.exists("p"), what="the FIFO")
    os.kill(proc.pid, signal.SIGHUP)
    assert proc.wait(10) == -signal.SIGHUP
    assert not os.path.lexists("p")



def test_usage_errors(in_tmp):
    for args in (["--timeout", "-1", "p", "x"], ["--mode", "rw", "p", "x"], ["--framing", "csv", "p", "x"], []):
        result = run([FIFO_SEND, *args], env=ENV)
        assert result.returncode == 2, args
        assert result.stderr.decode().splitlines()[-1] == "Try 'fifo-send --help' for more information."
        assert "Traceback" not in result.stderr.decode()
    assert os.listdir(".") == []


def test_sigterm_while_blocked_on_a_full_fifo_leaves_only_whole_lines(in_tmp, janitor):
    # The streaming path (line framing, no deadline) blocked in write(2) on a
    # FIFO nobody reads from: SIGTERM must end it, with only whole lines sent.
    os.mkfifo("p")
    hold = os.open("p", os.O_RDWR | os.O_NONBLOCK)  # a reader that never reads
    try:
        (in_tmp / "lines").write_bytes(b"".join(b"%07d\n" % i for i in range(500_000)))  # 4 MB
        with open("lines", "rb") as stdin:
            sender = janitor.popen([FIFO_SEND, "p"], stdin=stdin, stderr=subprocess.PIPE, env=ENV)

        wait_for(lambda: blocked_writing_a_pipe(sender.pid), 20, "fifo-send blocked writing into the full FIFO")
        os.kill(sender.pid, signal.SIGTERM)
        assert sender.wait(10) == -signal.SIGTERM
        data = bytearray()
        try:
            while chunk := os.read(hold, 1 << 16):
                data += chunk
        except BlockingIOError:
            pass
        assert data and data.endswith(b"\n")
        lines = data.split(b"\n")[:-1]
        assert lines == [b"%07d" % i for i in range(len(lines))]
    finally:
        os.close(hold)


@pytest.mark.timeout(30)
def test_create_never_removes_a_fifo_someone_else_made_in_its_place(in_tmp, janitor):
    # fifo-send made q and waits for a reader; someone removes q and makes their
    # own q. With no fd on its inode, the inode number could be reused for the
    # new q (it was, 3 times out of 3 on ext4), and fifo-send removed it at exit.
    sender = janitor.popen([FIFO_SEND, "--create", "--timeout", "1", "q", "hello"], stderr=subprocess.PIPE, env=ENV)
    wait_for(lambda: os.path.exists("q"), 10, "fifo-send to make q")
    os.unlink("q")
    os.mkfifo("q", 0o644)
    theirs = os.lstat("q")
    assert sender.wait(20) == 124
    assert os.lstat("q").st_ino == theirs.st_ino  # still there, untouched


def test_a_stop_signal_never_cuts_a_large_message_that_fits_the_pipe(in_tmp):
    # The SIGTERM comes right after the first 4 KiB piece of a 900 KB message
    # (os.write is wrapped to send it). The message must still go out whole;
    # the signal is kept for later. Before, the poll between pieces saw it and
    # the message was cut, garbling what the next sender wrote after it.
    helper = textwrap.dedent("""
        import os, signal, sys
        sys.path.insert(0, sys.argv[1])
        from pyipc import fifo
        from pyipc.fifo.pipes import grow_pipe
        from pyipc.framing import frame
        r, w = os.pipe()
        grow_pipe(w, 1 << 20)
        real_write, pieces = os.write, []
        def write(fd, data):
            if fd == w:
                pieces.append(len(data))
                if len(pieces) == 1:
                    os.kill(os.getpid(), signal.SIGTERM)
            return real_write(fd, data)
        os.write = write
        message = frame(b"A" * 900_000, "length")
        with fifo.StopSignals() as stop:
            sender = fifo.FifoWriter(w, "length", fifo.Waiter(stop))
            try:
                sender.send_framed(message)
                outcome = "sent"
            except fifo.Interrupted:
                outcome = "interrupted"
            pending = stop._pending
        os.close(w)
        got = b"".join(iter(lambda: os.read(r, 1 << 20), b""))
        print(outcome, len(got) == len(message) and got == message, pending)
    """)
    result = run([sys.executable, "-c", helper, str(ROOT)], env=ENV)
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.decode().split() == ["sent", "True", str(int(signal.SIGTERM))]
