"""The FIFO commands together, in the patterns people script: several workers
on one queue, senders that exit before their messages are read, collectors
stopped mid-stream, receivers killed, readiness instead of sleep. Every message
is accounted for: each exactly once, whole, in order per sender.

These run at a small size here; bench/bench_fifo_channels.py runs the same
patterns at full size and puts the figures in bench/RESULTS.md."""

import os
import random
import select
import signal
import stat
import subprocess
import time

import pytest
from conftest import ENV, drain, run, script, wait_for

pytestmark = pytest.mark.timeout(120)

FIFO_SEND = script("fifo-send")
FIFO_RECV = script("fifo-recv")
MKFIFO_CAT = script("mkfifo-cat")


def frames(messages, framing):
    if framing == "length":
        return b"".join(len(m).to_bytes(4, "big") + m for m in messages)
    return b"".join(m + b"\n" for m in messages)


def parse(data, framing):
    if framing == "length":
        out, pos = [], 0
        while pos < len(data):
            size = int.from_bytes(data[pos:pos + 4], "big")
            out.append(data[pos + 4:pos + 4 + size])
            pos += 4 + size
        assert pos == len(data), "a cut length frame"
        return out
    assert not data or data.endswith(b"\n"), "a cut last line"
    return data.split(b"\n")[:-1]


def job(number: int, size: int = 0) -> bytes:
    """A message that says which it is and shows any foreign byte inside it."""
    head = b"job-%06d:" % number
    return head + bytes([97 + number % 26]) * max(0, size - len(head))


def check_whole(message: bytes) -> int:
    number = int(message[4:10])
    assert message[11:] == bytes([97 + number % 26]) * (len(message) - 11), f"job {number} was cut or mixed"
    return number


def wchan(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/wchan") as file:
            return file.read()
    except FileNotFoundError:
        return ""


def worker_loop(janitor, count: int, framing: str, out: str, timeout: str = "3"):
    """A worker as users write one: take COUNT messages at a time until the
    queue stays empty for a while (124) or its sender is gone (1)."""
    loop = (f'while "$0" -n {count} -f {framing} --timeout {timeout} q.fifo >> {out}; do :; done; '
            'case $? in 1|124) exit 0;; *) exit $?;; esac')
    return janitor.popen(["bash", "-c", loop, FIFO_RECV], env=ENV)


@pytest.mark.parametrize("framing", ["line", "length"])
@pytest.mark.parametrize("count, total", [(1, 60), (10, 1000)])
def test_competing_receivers_take_each_message_exactly_once(in_tmp, janitor, framing, count, total):
    os.mkfifo("q.fifo")
    # The documented pattern for a queue that can hold more than the pipe:
    # one reader end held for the queue's life (it never reads).
    holder = os.open("q.fifo", os.O_RDONLY | os.O_NONBLOCK)
    try:
        rng = random.Random(total + count)
        messages = [job(i, rng.choice([12, 40, 300, 3000])) for i in range(total)]
        (in_tmp / "in").write_bytes(frames(messages, framing))
        with open("in", "rb") as stdin:
            sender = janitor.popen([FIFO_SEND, "-f", framing, "--timeout", "60", "q.fifo"], stdin=stdin,
                                   stderr=subprocess.PIPE, env=ENV)
        workers = [worker_loop(janitor, count, framing, f"out{w}") for w in range(4)]
        assert sender.wait(90) == 0, sender.stderr.read()
        for worker in workers:
            assert worker.wait(60) == 0
    finally:
        os.close(holder)
    got = {}
    for w in range(4):
        path = in_tmp / f"out{w}"
        numbers = [check_whole(m) for m in parse(path.read_bytes() if path.exists() else b"", framing)]
        assert numbers == sorted(numbers), f"worker {w} got one sender's messages out of order"
        for number in numbers:
            assert number not in got, f"job {number} went to workers {got[number]} and {w}"
            got[number] = w
    assert sorted(got) == list(range(total)), f"{total - len(got)} jobs lost"
    assert len(set(got.values())) > 1, "one worker took everything: they did not compete"


def test_a_receiver_killed_between_receives_loses_nothing(in_tmp, janitor):
    # Victims wait for the lock or for data (holding nothing yet) and are
    # SIGKILLed there; the workers beside them must still get every message.
    import fcntl

    os.mkfifo("q.fifo")
    holder = os.open("q.fifo", os.O_RDONLY | os.O_NONBLOCK)
    try:
        sender = janitor.popen([FIFO_SEND, "--timeout", "60", "q.fifo"], stdin=subprocess.PIPE,
                               stderr=subprocess.PIPE, env=ENV)
        workers = [worker_loop(janitor, 1, "line", f"out{w}", timeout="20") for w in range(2)]
        for round_ in range(4):
            victim = janitor.popen([FIFO_RECV, "-n", "1", "q.fifo"], stdout=subprocess.PIPE, env=ENV)
            wait_for(lambda: any(w in wchan(victim.pid) for w in ("poll", "lock")), 20,
                     "the victim to wait for the lock or for data")
            os.kill(victim.pid, signal.SIGKILL)
            victim.wait(10)
            assert victim.stdout.read() == b""
            sender.stdin.write(b"".join(job(i) + b"\n" for i in range(round_ * 10, round_ * 10 + 10)))
            sender.stdin.flush()
            # the workers take all ten before the next victim comes
            wait_for(lambda: int.from_bytes(fcntl.ioctl(holder, 0x541B, b"\0" * 4), "little") == 0 and
                     sum(1 for w in range(2) if (in_tmp / f"out{w}").exists()
                         for _ in (in_tmp / f"out{w}").read_bytes().splitlines()) == round_ * 10 + 10,
                     30, "the workers to take this round's jobs")
        sender.stdin.close()
        assert sender.wait(60) == 0, sender.stderr.read()
        for worker in workers:
            assert worker.wait(60) == 0
    finally:
        os.close(holder)
    got = sorted(check_whole(m) for w in range(2) if (in_tmp / f"out{w}").exists()
                 for m in parse((in_tmp / f"out{w}").read_bytes(), "line"))
    assert got == list(range(40))


def test_work_queue_loses_nothing_when_the_sender_would_exit_early(in_tmp, janitor):
    # The case: seq 5 | fifo-send q &, then one receive at a time. The
    # sender stays until the last message is taken, so the kernel never drops
    # the FIFO's buffer; and it says so by exiting 0 only then.
    os.mkfifo("q.fifo")
    sender = janitor.popen([FIFO_SEND, "q.fifo"], stdin=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV)
    sender.stdin.write(b"1\n2\n3\n4\n5\n")
    sender.stdin.close()
    got = []
    for _ in range(5):
        result = run([FIFO_RECV, "--count", "1", "--timeout", "10", "q.fifo"], env=ENV)
        assert result.returncode == 0, result.stderr
        got.append(result.stdout)
        if len(got) < 5:
            assert sender.poll() is None, "the sender left before its messages were read"
    assert got == [b"1\n", b"2\n", b"3\n", b"4\n", b"5\n"]
    assert sender.wait(10) == 0


def test_sender_timeout_says_how_many_messages_are_unread(in_tmp, janitor):
    os.mkfifo("q.fifo")
    sender = janitor.popen([FIFO_SEND, "--timeout", "0.5", "q.fifo", "a", "b", "c"], stderr=subprocess.PIPE,
                           env=ENV)
    result = run([FIFO_RECV, "-n", "1", "--timeout", "10", "q.fifo"], env=ENV)
    assert result.stdout == b"a\n"
    assert sender.wait(20) == 124
    assert sender.stderr.read() == b"fifo-send: 2 messages still unread: readers took nothing for 0.5s\n"


def test_written_exits_once_written(in_tmp, janitor):
    os.mkfifo("q.fifo")
    holder = os.open("q.fifo", os.O_RDONLY | os.O_NONBLOCK)
    try:
        result = run([FIFO_SEND, "--written", "q.fifo", "a", "b"], timeout=20, env=ENV)
        assert (result.returncode, result.stderr) == (0, b"")
        assert os.read(holder, 100) == b"a\nb\n"
    finally:
        os.close(holder)


@pytest.mark.parametrize("taken", [1, 100, 10000])
def test_epipe_report_counts_the_messages_read(in_tmp, janitor, taken):
    os.mkfifo("q.fifo")
    feeder = janitor.popen(["seq", "2000000"], stdout=subprocess.PIPE)  # more than a grown pipe holds
    sender = janitor.popen([FIFO_SEND, "q.fifo"], stdin=feeder.stdout, stderr=subprocess.PIPE, env=ENV)
    feeder.stdout.close()
    result = run([FIFO_RECV, "--count", str(taken), "--timeout", "20", "q.fifo"], env=ENV)
    assert result.returncode == 0
    assert result.stdout == b"".join(b"%d\n" % i for i in range(1, taken + 1))
    assert sender.wait(20) == 1
    err = sender.stderr.read().decode()
    plural = "message" if taken == 1 else "messages"
    assert err.startswith(f"fifo-send: the reader went away (EPIPE) after {taken} {plural} read; "), err
    unread = int(err.split("; ")[1].split()[0])
    assert unread > 0 and err.endswith(" written but unread\n")


@pytest.mark.parametrize("framing", ["line", "length"])
def test_concurrent_senders_into_one_receiver(in_tmp, janitor, framing):
    senders, per_sender = 8, 150
    rng = random.Random(16)
    inputs = []
    for s in range(senders):
        sizes = [rng.choice([20, 60, 200]) if rng.random() > 0.05 else rng.randint(5000, 64000)
                 for _ in range(per_sender)]
        inputs.append([job(s * per_sender + i, size) for i, size in enumerate(sizes)])
    sizes_of_large = [len(m) for ms in inputs for m in ms if len(m) > 4096]
    assert sizes_of_large, "the mix must have messages larger than PIPE_BUF"
    inputs[0].append(job(senders * per_sender, 200_000))  # one larger than the default pipe
    os.mkfifo("q.fifo")
    with open("out", "wb") as out:
        receiver = janitor.popen([FIFO_RECV, "-f", framing, "--follow", "--timeout", "20", "q.fifo"], stdout=out,
                                 env=ENV)
    procs = []
    for s in range(senders):
        (in_tmp / f"in{s}").write_bytes(frames(inputs[s], framing))
        with open(f"in{s}", "rb") as stdin:
            procs.append(janitor.popen([FIFO_SEND, "-f", framing, "--timeout", "30", "q.fifo"], stdin=stdin,
                                       stderr=subprocess.PIPE, env=ENV))
    for proc in procs:
        assert proc.wait(90) == 0, proc.stderr.read()
    # every sender exited 0: every message was read out of the FIFO already
    receiver.send_signal(signal.SIGTERM)
    assert receiver.wait(20) == -signal.SIGTERM
    got = [check_whole(m) for m in parse((in_tmp / "out").read_bytes(), framing)]
    assert sorted(got) == list(range(senders * per_sender + 1))
    for s in range(senders):
        mine = [n for n in got if s * per_sender <= n < (s + 1) * per_sender]
        assert mine == sorted(mine), f"sender {s}'s messages out of order"


def test_mkfifo_cat_writes_out_what_it_accepted_before_a_term(in_tmp, janitor):
    read_end, write_end = os.pipe()
    with open("out", "wb") as out:
        cat = janitor.popen([MKFIFO_CAT, "--ready-fd", str(write_end), "d.fifo"], stdout=out,
                            pass_fds=(write_end,), env=ENV)
    os.close(write_end)
    assert os.read(read_end, 10) == b"\n"
    os.close(read_end)
    os.kill(cat.pid, signal.SIGSTOP)
    wait_for(lambda: open(f"/proc/{cat.pid}/stat").read().split(") ")[1][0] == "T", 10, "mkfifo-cat stopped")
    data = b"".join(b"%d\n" % i for i in range(1, 5001))
    fd = os.open("d.fifo", os.O_WRONLY)  # a plain writer, which then exits
    os.write(fd, data)
    os.close(fd)
    os.kill(cat.pid, signal.SIGTERM)
    os.kill(cat.pid, signal.SIGCONT)
    assert cat.wait(10) == -signal.SIGTERM
    assert (in_tmp / "out").read_bytes() == data
    assert stat.S_ISFIFO(os.lstat("d.fifo").st_mode), "the FIFO stays (RemoveOnStop=no)"


def test_fifo_recv_follow_writes_out_what_is_queued_before_a_term(in_tmp, janitor):
    os.mkfifo("q.fifo")
    read_end, write_end = os.pipe()
    recv = janitor.popen([FIFO_RECV, "--follow", "--ready-fd", str(write_end), "q.fifo"],
                         stdout=subprocess.PIPE, pass_fds=(write_end,), env=ENV)
    os.close(write_end)
    assert os.read(read_end, 10) == b"\n"
    os.close(read_end)
    os.kill(recv.pid, signal.SIGSTOP)
    wait_for(lambda: open(f"/proc/{recv.pid}/stat").read().split(") ")[1][0] == "T", 10, "fifo-recv stopped")
    result = run([FIFO_SEND, "--written", "q.fifo", *[str(i) for i in range(300)]], env=ENV)
    assert result.returncode == 0
    os.kill(recv.pid, signal.SIGTERM)
    os.kill(recv.pid, signal.SIGCONT)
    out, _ = recv.communicate(timeout=10)
    assert recv.returncode == -signal.SIGTERM
    assert out == b"".join(b"%d\n" % i for i in range(300))


def test_ready_fd_then_write_never_races(in_tmp, janitor):
    # The README's recipe, with readiness instead of luck: the writer starts
    # the moment the collector says it is ready, 20 times over.
    for round_ in range(20):
        read_end, write_end = os.pipe()
        with open(f"out{round_}", "wb") as out:
            cat = janitor.popen([MKFIFO_CAT, "--ready-fd", str(write_end), f"p{round_}"], stdout=out,
                                pass_fds=(write_end,), env=ENV)
        os.close(write_end)
        assert os.read(read_end, 10) == b"\n"
        os.close(read_end)
        result = run([FIFO_SEND, "--no-wait", f"p{round_}", "hello"], env=ENV)
        assert result.returncode == 0, result.stderr
        cat.send_signal(signal.SIGTERM)
        cat.wait(10)
        assert (in_tmp / f"out{round_}").read_bytes() == b"hello\n"


def test_fifo_send_timeout_waits_for_the_path_to_appear(in_tmp, janitor):
    sender = janitor.popen([FIFO_SEND, "--timeout", "20", "log.fifo", "one", "two"], stderr=subprocess.PIPE,
                           env=ENV)
    wait_for(lambda: "poll" in wchan(sender.pid) or "nanosleep" in wchan(sender.pid) or sender.poll() is not None,
             10, "fifo-send to wait")
    assert sender.poll() is None, sender.stderr.read()
    with open("out", "wb") as out:
        cat = janitor.popen([MKFIFO_CAT, "log.fifo"], stdout=out, env=ENV)
    assert sender.wait(20) == 0, sender.stderr.read()
    cat.send_signal(signal.SIGTERM)
    cat.wait(10)
    assert (in_tmp / "out").read_bytes() == b"one\ntwo\n"
    result = run([FIFO_SEND, "--timeout", "0.3", "never.fifo", "x"], env=ENV)
    assert (result.returncode, result.stderr) == (124, b"fifo-send: 'never.fifo' did not appear within 0.3s\n")
    assert not os.path.lexists("never.fifo")


@pytest.mark.parametrize("prog", ["mkfifo-cat", "fifo-recv"])
@pytest.mark.parametrize("value, why", [("1", "must be 3 or more"), ("9", "is not an open file descriptor"),
                                        ("x", None)])
def test_bad_ready_fd_is_a_usage_error_that_touches_nothing(in_tmp, prog, value, why):
    result = run([script(prog), "--ready-fd", value, "--create" if prog == "fifo-recv" else "--once", "p"],
                 env=ENV)
    lines = result.stderr.decode().splitlines()
    assert result.returncode == 2 and len(lines) == 2, result.stderr
    assert lines[0].startswith(f"{prog}: ") and "--ready-fd" in lines[0]
    if why:
        assert lines[0].startswith(f"{prog}: --ready-fd: {value} {why}")
    assert os.listdir(".") == []


def test_ready_fd_open_read_only_is_refused(in_tmp):
    read_end, write_end = os.pipe()
    try:
        result = run([MKFIFO_CAT, "--ready-fd", str(read_end), "p"], pass_fds=(read_end,), env=ENV)
        assert result.stderr.decode().splitlines()[0] == f"mkfifo-cat: --ready-fd: {read_end} is not open for writing"
        assert result.returncode == 2 and os.listdir(".") == []
    finally:
        os.close(read_end)
        os.close(write_end)


def test_sigkill_of_a_sender_never_leaves_part_of_a_message(in_tmp, janitor):
    # 200 KiB messages fit a grown pipe: each is one write(2), so a sender
    # killed at any moment has written each whole or not at all.
    os.mkfifo("q.fifo")
    reader = os.open("q.fifo", os.O_RDONLY | os.O_NONBLOCK)
    big = [job(i, 200_000) for i in range(6)]
    data = frames(big, "length")
    received = bytearray()
    try:
        for round_ in range(8):
            sender = janitor.popen([FIFO_SEND, "-f", "length", "--written", "q.fifo"], stdin=subprocess.PIPE,
                                   env=ENV)
            try:
                sender.stdin.write(data)
                sender.stdin.close()
            except BrokenPipeError:
                pass
            rng = random.Random(round_)
            deadline = time.monotonic() + rng.random() * 0.3
            while time.monotonic() < deadline:  # read a little, as a slow reader would
                try:
                    received += os.read(reader, 1 << 15)
                except BlockingIOError:
                    time.sleep(0.002)
            sender.kill()
            sender.wait(10)
            received += drain(reader)
    finally:
        os.close(reader)
    for message in parse(bytes(received), "length"):
        check_whole(message)
        assert len(message) == 200_000


def test_pipe_is_grown_only_for_a_large_message_or_a_stream(in_tmp, janitor):
    import fcntl

    os.mkfifo("q.fifo")
    reader = os.open("q.fifo", os.O_RDONLY | os.O_NONBLOCK)
    try:
        size = lambda: fcntl.fcntl(reader, 1032)  # noqa: E731 (F_GETPIPE_SZ)
        before = size()
        sender = janitor.popen([FIFO_SEND, "--written", "q.fifo"], stdin=subprocess.PIPE, env=ENV)
        sender.communicate(b"".join(b"%d\n" % i for i in range(3000)), timeout=20)  # 14 KB of short lines
        assert sender.returncode == 0
        assert run([FIFO_SEND, "--written", "q.fifo", "short", "messages"], env=ENV).returncode == 0
        assert size() == before == 65536, "short messages must leave the FIFO as it is"
        drain(reader)
        assert run([FIFO_SEND, "--written", "q.fifo", "x" * 100_000], env=ENV).returncode == 0
        assert size() == 131072, "grown to hold the one message larger than it"
        drain(reader)
        feeder = janitor.popen(["seq", "200000"], stdout=subprocess.PIPE)  # 1.3 MB: a stream
        sender = janitor.popen([FIFO_SEND, "--written", "q.fifo"], stdin=feeder.stdout, env=ENV)
        feeder.stdout.close()
        while sender.poll() is None:
            drain(reader)
            select.select([reader], [], [], 0.05)
        assert sender.returncode == 0
        assert size() == 1 << 20, "a stream grows it to 1 MiB"
    finally:
        os.close(reader)


def test_max_size_bounds_a_receivers_memory(in_tmp, janitor):
    # Measured through a small Python parent: a child's ru_maxrss starts at the
    # high-water mark of the memory it was forked from, and pytest's is large.
    import sys

    measure = ("import resource, subprocess, sys\n"
               "result = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)\n"
               "sys.stderr.buffer.write(result.stderr)\n"
               "print(result.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n")
    os.mkfifo("q.fifo")
    recv = janitor.popen([sys.executable, "-c", measure, FIFO_RECV, "--max-size", "4M", "q.fifo"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV)
    writer = janitor.popen(["bash", "-c", "head -c 200000000 /dev/zero > q.fifo"], stderr=subprocess.DEVNULL)
    out, err = recv.communicate(timeout=60)
    code, maxrss_kib = map(int, out.split())
    assert code == 1
    assert err == b"fifo-recv: a message of more than 4194304 bytes is longer than --max-size (4194304 bytes)\n"
    assert maxrss_kib < 48 * 1024, f"{maxrss_kib} KiB for a 200 MB line with --max-size 4M"
    writer.kill()
    writer.wait(10)


def test_request_response_over_two_fifos(in_tmp, janitor):
    # The man page's request/response example, with a tiny server: it takes
    # one request and answers on the reply FIFO.
    os.mkfifo("request.fifo")
    os.mkfifo("reply.fifo")
    server = janitor.popen(["bash", "-c", 'req=$("$0" -n 1 request.fifo) && "$1" reply.fifo "echo: $req"',
                            FIFO_RECV, FIFO_SEND], env=ENV)
    client = ('"$0" -n 1 --timeout 5 reply.fifo & "$1" request.fifo "$request"; wait $!')
    result = run(["bash", "-c", client, FIFO_RECV, FIFO_SEND], env=dict(ENV, request="ping"))
    assert (result.returncode, result.stdout) == (0, b"echo: ping\n"), result.stderr
    assert server.wait(10) == 0
