"""fifo-recv end to end, through the installed console script."""

import json
import os
import random
import select
import signal
import subprocess

import pytest
from conftest import ENV, holds_open, run, script, wait_for

pytestmark = pytest.mark.timeout(30)

FIFO_SEND = script("fifo-send")
FIFO_RECV = script("fifo-recv")



def read_line(stream, timeout=10.0) -> bytes:
    ready, _, _ = select.select([stream], [], [], timeout)
    assert ready, "no output in time"
    return stream.readline()


def test_three_successive_count_1_readers_get_one_message_each(in_tmp, janitor):
    os.mkfifo("p")
    sender = janitor.popen([FIFO_SEND, "p"], stdin=subprocess.PIPE, env=ENV)
    sender.stdin.write(b"first\nsecond\nthird\n")  # one write: the sender sends them together
    sender.stdin.flush()
    got = [run([FIFO_RECV, "--count", "1", "--timeout", "10", "p"], env=ENV) for _ in range(3)]
    assert [(g.returncode, g.stdout, g.stderr) for g in got] == [
        (0, b"first\n", b""), (0, b"second\n", b""), (0, b"third\n", b"")]
    sender.stdin.close()
    assert sender.wait(10) == 0


def test_count_reads_exact_lengths_in_length_framing(in_tmp, janitor):
    os.mkfifo("p")
    sender = janitor.popen([FIFO_SEND, "--framing", "length", "p"], stdin=subprocess.PIPE, env=ENV)
    frames = [len(m).to_bytes(4, "big") + m for m in (b"\n\0one", b"", b"three")]
    sender.stdin.write(b"".join(frames))
    sender.stdin.flush()
    outputs = [run([FIFO_RECV, "-f", "length", "-n", "1", "--timeout", "10", "p"], env=ENV).stdout for _ in range(3)]
    assert outputs == frames
    sender.stdin.close()
    assert sender.wait(10) == 0


def test_binary_messages_survive_length_framing_byte_for_byte(in_tmp, janitor):
    rng = random.Random(5)
    messages = [bytes(rng.randrange(256) for _ in range(n)) for n in (0, 1, 255, 4096, 4097, 70000)]
    messages.append(b"\n\0\r\xff" * 100)
    framed = b"".join(len(m).to_bytes(4, "big") + m for m in messages)
    receiver = janitor.popen([FIFO_RECV, "--create", "--framing", "length", "p"], stdout=subprocess.PIPE, env=ENV)
    wait_for(lambda: holds_open(receiver.pid, "p"), what="fifo-recv to open p")
    assert run([FIFO_SEND, "--framing", "length", "p"], input=framed, env=ENV).returncode == 0
    out, _ = receiver.communicate(timeout=20)
    assert receiver.returncode == 0
    assert out == framed
    assert not os.path.lexists("p")


def test_json_output(in_tmp, janitor):
    receiver = janitor.popen([FIFO_RECV, "--create", "--json", "--framing", "nul", "p"], stdout=subprocess.PIPE, env=ENV)
    wait_for(lambda: holds_open(receiver.pid, "p"), what="fifo-recv to open p")
    assert run([FIFO_SEND, "--framing", "nul", "p"], input=b"h\xc3\xa9llo\0\0bad \xff\0with\nnewline\0", env=ENV).returncode == 0
    out, _ = receiver.communicate(timeout=20)
    records = [json.loads(line) for line in out.decode("utf-8").splitlines()]
    assert records == [{"data": "héllo"}, {"data": ""}, {"data_b64": "YmFkIP8="}, {"data": "with\nnewline"}]


def test_prints_each_message_as_it_arrives_and_stops_at_eof(in_tmp, janitor):
    os.mkfifo("p")
    receiver = janitor.popen([FIFO_RECV, "p"], stdout=subprocess.PIPE, env=ENV)
    wait_for(lambda: holds_open(receiver.pid, "p"), what="fifo-recv to open p")
    writer = os.open("p", os.O_WRONLY)
    try:
        os.write(writer, b"first\n")
        assert read_line(receiver.stdout) == b"first\n"  # while the writer is still there
        os.write(writer, b"\nthird")
        assert read_line(receiver.stdout) == b"\n"  # an empty message is a message
        assert receiver.poll() is None
    finally:
        os.close(writer)
    assert receiver.wait(10) == 0
    assert receiver.stdout.read() == b"third\n"
    assert stat_is_fifo("p")


def stat_is_fifo(path):
    import stat

    return stat.S_ISFIFO(os.lstat(path).st_mode)


def test_follow_keeps_receiving_across_writers(in_tmp, janitor):
    os.mkfifo("p")
    receiver = janitor.popen([FIFO_RECV, "--follow", "p"], stdout=subprocess.PIPE, env=ENV)
    for text in ("one", "two", "three"):
        assert run([FIFO_SEND, "--timeout", "10", "p", text], env=ENV).returncode == 0
        assert read_line(receiver.stdout) == text.encode() + b"\n"
    assert receiver.poll() is None
    os.kill(receiver.pid, signal.SIGTERM)
    assert receiver.wait(10) == -signal.SIGTERM
    assert stat_is_fifo("p"), "a FIFO it did not create is not removed"


def test_deadline_when_no_writer_comes(in_tmp):
    result = run([FIFO_RECV, "--create", "--timeout", "0.3", "p"], env=ENV)
    assert (result.returncode, result.stdout) == (124, b"")
    assert result.stderr.decode() == "fifo-recv: no writer came within 0.3s\n"
    assert not os.path.lexists("p")


def test_deadline_when_no_next_message_comes(in_tmp, janitor):
    os.mkfifo("p")
    receiver = janitor.popen([FIFO_RECV, "--timeout", "0.5", "p"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env=ENV)
    writer = os.open("p", os.O_WRONLY)  # waits for fifo-recv to open its end
    try:
        os.write(writer, b"whole\npart of a next mess")
        out, err = receiver.communicate(timeout=10)
    finally:
        os.close(writer)
    assert receiver.returncode == 124
    assert out == b"whole\n", "only whole messages are printed"
    assert err == b"fifo-recv: no message arrived within 0.5s\n"


def test_count_with_eof_before_n_messages(in_tmp, janitor):
    receiver = janitor.popen([FIFO_RECV, "--create", "--count", "3", "p"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env=ENV)
    wait_for(lambda: holds_open(receiver.pid, "p"), what="fifo-recv to open p")
    assert run([FIFO_SEND, "p", "a", "b"], env=ENV).returncode == 0
    out, err = receiver.communicate(timeout=10)
    assert (receiver.returncode, out, err) == (1, b"a\nb\n", b"fifo-recv: end-of-file after 2 of 3 messages\n")


def test_relay_through_recv_into_send(in_tmp, janitor):
    os.mkfifo("a")
    os.mkfifo("b")
    final = janitor.popen([FIFO_RECV, "--framing", "nul", "--json", "b"], stdout=subprocess.PIPE, env=ENV)
    relay = janitor.popen(["/bin/sh", "-c", f"'{FIFO_RECV}' -f nul a | '{FIFO_SEND}' -f nul b"], env=ENV)
    assert run([FIFO_SEND, "-f", "nul", "a", "x y", "two\nlines"], env=ENV).returncode == 0
    assert relay.wait(10) == 0
    out, _ = final.communicate(timeout=10)
    assert [json.loads(line)["data"] for line in out.splitlines()] == ["x y", "two\nlines"]


def test_sigterm_removes_its_fifo(in_tmp, janitor):
    receiver = janitor.popen([FIFO_RECV, "--create", "p"], stderr=subprocess.PIPE, env=ENV)
    wait_for(lambda: holds_open(receiver.pid, "p"), what="fifo-recv to open p")
    (in_tmp / "other").write_bytes(b"untouched")
    os.kill(receiver.pid, signal.SIGTERM)
    assert receiver.wait(10) == -signal.SIGTERM
    assert receiver.stderr.read() == b""
    assert sorted(os.listdir(".")) == ["other"]



def test_count_0_checks_the_path_and_reads_nothing(in_tmp):
    (in_tmp / "file").write_bytes(b"data\n")
    result = run([FIFO_RECV, "--count", "0", "file"], env=ENV)
    assert result.returncode == 1 and b"is a regular file" in result.stderr
    os.mkfifo("p")
    writer_side = os.open("p", os.O_RDWR)  # keeps the data in the FIFO between readers
    try:
        os.write(writer_side, b"stays\n")
        result = run([FIFO_RECV, "--count", "0", "p"], env=ENV)
        assert (result.returncode, result.stdout) == (0, b"")
        assert os.read(writer_side, 100) == b"stays\n"
    finally:
        os.close(writer_side)


def test_missing_path_and_usage_errors(in_tmp):
    result = run([FIFO_RECV, "p"], env=ENV)
    assert (result.returncode, result.stderr) == (1, b"fifo-recv: 'p': No such FIFO (--create makes it)\n")
    for args in (["--count", "-1", "p"], ["--count", "x", "p"], ["--timeout", "1x", "p"], ["--mode", "8", "p"]):
        result = run([FIFO_RECV, *args], env=ENV)
        assert result.returncode == 2, args
        assert result.stderr.decode().splitlines()[-1] == "Try 'fifo-recv --help' for more information."
        assert "Traceback" not in result.stderr.decode()
    assert os.listdir(".") == []
