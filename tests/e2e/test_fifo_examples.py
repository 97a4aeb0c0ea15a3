"""Every EXAMPLE of fifo-send(1), fifo-recv(1) and mkfifo-cat(1), run as
written (with /tmp/ paths moved into the test's own directory), with a writer
or reader beside it where the example needs one, and checked for what its
description promises. The examples are read from the commands' MANUAL, the
source of the man pages, so an example changed there without its test fails.
Each test names the examples it runs with @covers, which
test_man_examples.py checks against every man page's EXAMPLES."""

import os
import signal
import subprocess

import pytest
from conftest import ENV, SCRIPTS, holds_open, run, wait_for
from man_examples import covers

from pyipc.commands import fifo_recv, fifo_send, mkfifo_cat

pytestmark = pytest.mark.timeout(60)

SHELL_ENV = dict(ENV, PATH=f"{SCRIPTS}:{ENV.get('PATH', '/usr/bin:/bin')}")
PAGES = {"fifo-send": fifo_send.MANUAL, "fifo-recv": fifo_recv.MANUAL, "mkfifo-cat": mkfifo_cat.MANUAL}
CHECKED = set()


def example(prog: str, start: str) -> str:
    """The example of prog's page that starts with start, /tmp/ made local."""
    found = [text for text, _ in PAGES[prog]["examples"] if text.startswith(start)]
    assert len(found) == 1, f"{prog}(1) has no example starting {start!r}"
    CHECKED.add((prog, found[0]))
    return found[0].replace("/tmp/", "")


def bash(script: str, janitor=None, **kwargs):
    argv = ["bash", "-c", script]
    if janitor is None:
        return run(argv, env=SHELL_ENV, **kwargs)
    return janitor.popen(argv, env=SHELL_ENV, start_new_session=True, **kwargs)


@covers("fifo-send", "fifo-send /tmp/q.fifo 'job 1'")
def test_send_two_messages(in_tmp, janitor):
    os.mkfifo("q.fifo")
    receiver = bash("fifo-recv q.fifo", janitor, stdout=subprocess.PIPE)
    assert bash(example("fifo-send", "fifo-send /tmp/q.fifo 'job 1'")).returncode == 0
    assert receiver.communicate(timeout=20)[0] == b"job 1\njob 2\n"


@covers("fifo-send", "seq 1000 |")
def test_seq_with_a_timeout(in_tmp, janitor):
    os.mkfifo("q.fifo")
    receiver = bash("fifo-recv q.fifo | wc -l", janitor, stdout=subprocess.PIPE)
    assert bash(example("fifo-send", "seq 1000 |")).returncode == 0
    assert receiver.communicate(timeout=20)[0].strip() == b"1000"
    os.unlink("q.fifo")
    os.mkfifo("q.fifo")
    assert bash(example("fifo-send", "seq 1000 |")).returncode == 124  # nobody came within 5 s


@covers("fifo-send", "seq 20 | fifo-send q.fifo &")
def test_work_queue_each_job_exactly_once(in_tmp):
    os.mkfifo("q.fifo")
    result = bash(example("fifo-send", "seq 20 | fifo-send q.fifo &"), timeout=50)
    assert result.returncode == 0, result.stderr
    jobs = sorted(int(line.split(": ")[1]) for line in result.stdout.decode().splitlines())
    assert jobs == list(range(1, 21))
    workers = {line.split(":")[0] for line in result.stdout.decode().splitlines()}
    assert workers <= {"worker 1", "worker 2", "worker 3"}


@covers("fifo-send", "find . -print0")
def test_file_names_nul_terminated(in_tmp, janitor):
    (in_tmp / "sub").mkdir()
    (in_tmp / "sub" / "a file").write_text("x")
    os.mkfifo("files.fifo")
    assert bash(example("fifo-send", "find . -print0")).returncode == 1  # nobody reads: fails at once
    receiver = bash("fifo-recv --framing nul --follow files.fifo", janitor, stdout=subprocess.PIPE)
    wait_for(lambda: holds_open(receiver.pid, "files.fifo"), 20, "the receiver to open the FIFO")
    assert bash(example("fifo-send", "find . -print0")).returncode == 0
    os.killpg(receiver.pid, signal.SIGTERM)  # the collector writes out what is queued, then goes
    names = set(receiver.communicate(timeout=20)[0].split(b"\0")[:-1])
    assert {b".", b"./sub", b"./sub/a file", b"./files.fifo"} <= names


@covers("fifo-send", "fifo-recv --framing length /tmp/a |")
def test_relay_binary_messages(in_tmp, janitor):
    os.mkfifo("a")
    os.mkfifo("b")
    messages = [b"\0\n\xff", b"", b"x" * 5000]
    payload = b"".join(len(m).to_bytes(4, "big") + m for m in messages)
    receiver = bash("fifo-recv --framing length b", janitor, stdout=subprocess.PIPE)
    relay = bash(example("fifo-send", "fifo-recv --framing length /tmp/a |"), janitor)
    sender = bash('fifo-send --framing length a', janitor, stdin=subprocess.PIPE)
    sender.communicate(payload, timeout=20)
    assert sender.returncode == 0
    assert relay.wait(20) == 0
    assert receiver.communicate(timeout=20)[0] == payload


@covers("fifo-recv", "fifo-recv --create")
def test_receive_with_create_then_removed(in_tmp, janitor):
    receiver = bash(example("fifo-recv", "fifo-recv --create"), janitor, stdout=subprocess.PIPE)
    wait_for(lambda: os.path.exists("q.fifo"), 20, "the FIFO")
    assert bash("fifo-send q.fifo one two").returncode == 0
    assert receiver.communicate(timeout=20)[0] == b"one\ntwo\n"
    assert not os.path.lexists("q.fifo")


@covers("fifo-recv", "job=$(fifo-recv --count 1")
def test_take_exactly_one(in_tmp, janitor):
    os.mkfifo("q.fifo")
    sender = bash("fifo-send q.fifo first second", janitor)
    result = bash(example("fifo-recv", "job=$(fifo-recv --count 1") + '; echo "got $job"')
    assert result.stdout == b"got first\n"
    assert bash("fifo-recv --count 1 q.fifo").stdout == b"second\n"  # left for the next reader
    assert sender.wait(20) == 0


@covers("fifo-recv", "for w in 1 2 3;")
def test_three_workers_sharing_a_queue(in_tmp, janitor):
    os.mkfifo("q.fifo")
    sender = bash("seq 30 | fifo-send q.fifo", janitor)
    result = bash(example("fifo-recv", "for w in 1 2 3;") + "; wait", timeout=50)
    assert sender.wait(20) == 0
    taken = sorted(int(line.split(": ")[1]) for line in result.stdout.decode().splitlines())
    assert taken == list(range(1, 31))


@pytest.mark.parametrize("prog, start", [("fifo-recv", "exec 3< <(fifo-recv --follow"),
                                         ("mkfifo-cat", "exec 3< <(mkfifo-cat --ready-fd")])
@covers("fifo-recv", "exec 3< <(fifo-recv --follow")
@covers("mkfifo-cat", "exec 3< <(mkfifo-cat --ready-fd")
def test_collector_ready_without_sleep(in_tmp, prog, start):
    # The writer runs the moment read returns: no sleep, no race, ten times over.
    script = (example(prog, start) + "; collector=$!; fifo-send --no-wait --written log.fifo \"line $i\" || exit 9; "
              "kill $collector; wait $collector 2>/dev/null; exec 3<&-")
    for i in range(10):
        result = bash(script.replace("$i", str(i)), timeout=30)
        assert result.returncode == 0, result.stderr
    wait_for(lambda: (in_tmp / "all.log").read_bytes().count(b"\n") == 10, 20, "every line in all.log")
    assert (in_tmp / "all.log").read_bytes() == b"".join(b"line %d\n" % i for i in range(10))


@covers("fifo-recv", "fifo-recv -n 1 --timeout 5 reply.fifo &")
def test_request_response(in_tmp, janitor):
    os.mkfifo("request.fifo")
    os.mkfifo("reply.fifo")
    server = bash('req=$(fifo-recv -n 1 request.fifo) && fifo-send reply.fifo "answer to $req"', janitor)
    result = run(["bash", "-c", example("fifo-recv", "fifo-recv -n 1 --timeout 5 reply.fifo &")],
                 env=dict(SHELL_ENV, request="ping"))
    assert (result.returncode, result.stdout) == (0, b"answer to ping\n"), result.stderr
    assert server.wait(20) == 0


@covers("fifo-recv", "fifo-recv --follow --json")
def test_follow_json(in_tmp, janitor):
    os.mkfifo("q.fifo")
    receiver = bash(example("fifo-recv", "fifo-recv --follow --json"), janitor, stdout=subprocess.PIPE)
    assert bash("fifo-send q.fifo 'a b'; printf 'c\\xff\\n' | fifo-send q.fifo").returncode == 0
    os.killpg(receiver.pid, signal.SIGTERM)
    assert receiver.communicate(timeout=20)[0] == b'{"data": "a b"}\n{"data_b64": "Y/8="}\n'


@covers("fifo-recv", "fifo-recv --framing length")
def test_length_framed_to_a_file(in_tmp, janitor):
    os.mkfifo("bin.fifo")
    receiver = bash(example("fifo-recv", "fifo-recv --framing length"), janitor)
    assert bash("fifo-send --framing length bin.fifo 'x y'").returncode == 0
    assert receiver.wait(20) == 0
    assert (in_tmp / "messages.bin").read_bytes() == b"\0\0\0\x03x y"


@covers("mkfifo-cat", "mkfifo-cat /tmp/log.fifo >> all.log &")
def test_collect_into_a_log(in_tmp):
    script = example("mkfifo-cat", "mkfifo-cat /tmp/log.fifo >> all.log &") + (
        " collector=$!; fifo-send --timeout 10 log.fifo one; printf 'two\\n' | fifo-send --timeout 10 log.fifo; "
        "kill $collector; wait $collector")
    result = bash(script, timeout=30)
    assert result.returncode == 128 + signal.SIGTERM, result.stderr
    assert (in_tmp / "all.log").read_bytes() == b"one\ntwo\n"
    assert os.path.exists("log.fifo"), "kept: RemoveOnStop=no"


@covers("mkfifo-cat", "mkfifo-cat --once --remove")
def test_count_the_first_writers_bytes(in_tmp, janitor):
    counter = bash(example("mkfifo-cat", "mkfifo-cat --once --remove"), janitor, stdout=subprocess.PIPE)
    wait_for(lambda: os.path.exists("in.fifo"), 20, "the FIFO")
    # Made 0600, then fchmod'ed to --mode once open (pyipc.fifo.opening): the
    # 0644 comes a moment after the name.
    wait_for(lambda: os.lstat("in.fifo").st_mode & 0o777 == 0o644, 20, "the FIFO's mode to be 0644")
    assert bash("fifo-send --timeout 10 in.fifo hello").returncode == 0
    assert counter.communicate(timeout=20)[0].strip() == b"6"
    assert not os.path.lexists("in.fifo")


@covers("mkfifo-cat", "mkfifo-cat --timeout 30s")
def test_timeout_when_nothing_arrives(in_tmp):
    result = bash(example("mkfifo-cat", "mkfifo-cat --timeout 30s").replace("30s", "0.3s"))
    assert result.returncode == 124


def test_every_example_is_run():
    # (runs last in this file: the tests above fill CHECKED)
    every = {(prog, text) for prog, page in PAGES.items() for text, _ in page["examples"]}
    assert every - CHECKED == set()
