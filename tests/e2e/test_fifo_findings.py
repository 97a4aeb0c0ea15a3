"""Problems found using the FIFO commands as a script author would (a
new-user pass over issue 10's commands): each test states the promise of the
man page that failed then, and holds now."""

import os
import signal
import subprocess
import time

import pytest
from conftest import script, wait_for

pytestmark = pytest.mark.timeout(60)

FIFO_SEND = script("fifo-send")
FIFO_RECV = script("fifo-recv")


def _kill(*procs):
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


SLOW_READER = """
import os, sys, time
fifo, go, seen = sys.argv[1:]
fd = os.open(fifo, os.O_RDONLY)
while not os.path.exists(go):
    time.sleep(0.005)
data = b""
while True:
    chunk = os.read(fd, 512)
    if not chunk:
        break
    data = (data + chunk)[-4200:]
    if b"hello\\n" in data and not os.path.exists(seen):
        open(seen, "w").close()
    time.sleep(0.002)
"""


def test_send_ends_on_a_busy_fifo_once_its_message_is_read(tmp_path):
    import sys
    import threading

    fifo, go, seen = str(tmp_path / "log.fifo"), tmp_path / "go", tmp_path / "seen"
    os.mkfifo(fifo)
    reader = subprocess.Popen([sys.executable, "-c", SLOW_READER, fifo, str(go), str(seen)])
    sender = None
    stop = threading.Event()
    try:
        sender = subprocess.Popen([FIFO_SEND, "--timeout", "2", fifo, "hello"])
        other = os.open(fifo, os.O_WRONLY)  # reader is there: this open does not wait
        wait_for(lambda: int.from_bytes(__import__("fcntl").ioctl(other, 0x541B, b"\0" * 4), "little") == 6,
                 timeout=20, what="hello in the pipe")
        os.set_blocking(other, False)

        def keep_full():  # another writer, faster than the reader: the pipe is never empty,
            # and what is queued goes down with every read (the --timeout restarts)
            while not stop.is_set():
                try:
                    os.write(other, b"background\n" * 300)
                except BlockingIOError:
                    time.sleep(0.001)

        thread = threading.Thread(target=keep_full, daemon=True)
        thread.start()
        go.touch()
        wait_for(seen.exists, timeout=20, what="hello read by the reader")
        # Its message was read: it should be done (0), or at worst give up
        # after its 2 s --timeout (124). It does neither: it waits for the
        # pipe to be empty, which it never is.
        try:
            status = sender.wait(timeout=10)
        except subprocess.TimeoutExpired:
            status = None
        assert status in (0, 124), "fifo-send still running 10 s after its message was read"
    finally:
        stop.set()
        if sender is not None:
            _kill(sender)
        _kill(reader)


@pytest.mark.parametrize("framing", ["line", "length"])
def test_recv_refuses_a_whole_message_longer_than_max_size(tmp_path, framing):
    fifo = str(tmp_path / "q.fifo")
    os.mkfifo(fifo)
    body = b"x" * 60000
    data = body + b"\n" if framing == "line" else len(body).to_bytes(4, "big") + body
    sender = subprocess.Popen([FIFO_SEND, "-f", framing, "--timeout", "10", fifo], stdin=subprocess.PIPE)
    sender.stdin.write(data)
    sender.stdin.close()
    try:
        recv = subprocess.run([FIFO_RECV, "-f", framing, "--max-size", "1K", "-n", "1", "--timeout", "10", fifo],
                              capture_output=True, timeout=30)
    finally:
        _kill(sender)
    # fifo-recv(1): "--max-size bounds one message: a longer one is an error (exit 1)".
    assert recv.returncode == 1 and len(recv.stdout) < 1024, (recv.returncode, len(recv.stdout))


def test_recv_with_closed_stdout_takes_nothing(tmp_path):
    fifo = str(tmp_path / "q.fifo")
    os.mkfifo(fifo)
    holder = os.open(fifo, os.O_RDWR)  # the queue's reader end (fifo-send(1) NOTES)
    try:
        os.write(holder, b"job-1\njob-2\n")
        broken = subprocess.run(["bash", "-c", 'exec "$0" -n 1 --timeout 5 "$1" >&-', FIFO_RECV, fifo],
                                capture_output=True, timeout=30)
        assert broken.returncode != 0
        nxt = subprocess.run([FIFO_RECV, "-n", "1", "--timeout", "5", fifo], capture_output=True, timeout=30)
        assert nxt.stdout == b"job-1\n", "job-1 was taken by a receiver that could not print it"
    finally:
        os.close(holder)


def _drain_nonblocking(fd: int) -> int:
    os.set_blocking(fd, False)
    got = 0
    try:
        while True:
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                break
            got += len(chunk)
    except BlockingIOError:
        pass
    return got




@pytest.mark.parametrize("collector", ["mkfifo-cat", "fifo-recv --follow"])
def test_collector_with_a_full_stdout_waits_for_room_on_term(tmp_path, collector):
    fifo = str(tmp_path / "log.fifo")
    argv = [script("mkfifo-cat")] if collector == "mkfifo-cat" else [FIFO_RECV, "--follow", "--create"]
    out_read, out_write = os.pipe()  # the collector's stdout: a consumer that is slow (not reading yet)
    ready_read, ready_write = os.pipe()
    proc = subprocess.Popen(argv + ["--ready-fd", str(ready_write), fifo], stdout=out_write, pass_fds=(ready_write,))
    os.close(ready_write)
    os.close(out_write)
    try:
        assert os.read(ready_read, 1) == b"\n"
        data = b"".join(b"line %06d\n" % i for i in range(10000))  # 120,000 bytes: more than stdout's 64 KiB pipe
        writer = subprocess.run(["sh", "-c", 'cat > "$0"', fifo], input=data, timeout=30)
        assert writer.returncode == 0  # written and gone: now only the collector holds these bytes
        time.sleep(0.5)  # the collector has filled its stdout and waits for room
        proc.send_signal(signal.SIGTERM)
        time.sleep(1.0)
        alive = proc.poll() is None
        got = _drain_nonblocking(out_read)  # the slow consumer catches up
        proc.wait(timeout=20)
        got += _drain_nonblocking(out_read)
        assert alive, "died at the first signal with its stdout full"
        assert got == len(data), f"{len(data) - got} of {len(data)} bytes accepted from a writer never reached stdout"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(out_read)
        os.close(ready_read)


def test_create_does_not_remove_a_queue_others_hold_open(tmp_path):
    fifo = str(tmp_path / "q.fifo")
    worker = subprocess.Popen([FIFO_RECV, "--create", "-n", "1", "--timeout", "20", fifo], stdout=subprocess.PIPE)
    holder = -1
    try:
        wait_for(lambda: os.path.exists(fifo), timeout=20, what="the worker's FIFO")
        holder = os.open(fifo, os.O_RDWR)  # the queue (fifo-send(1) NOTES: exec 3<>q.fifo)
        os.write(holder, b"job-1\njob-2\n")
        out, _ = worker.communicate(timeout=30)
        assert out == b"job-1\n"
        assert os.path.exists(fifo), "q.fifo removed while job-2 waits in it, held open by another process"
    finally:
        _kill(worker)
        if holder >= 0:
            os.close(holder)
