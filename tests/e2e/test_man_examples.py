"""Every EXAMPLE of every man page is run by a test (issue 15, item 7).

The examples of pipe-run(1), sigsend(1), alarm-wait(1) and reap-watch(1) run
here; those of the FIFO commands in test_fifo_examples.py, reap-watch's two
zombie lessons in test_reap_watch.py. Each test says which example it runs
with @covers and gets its text from the MANUAL (man_examples.py), runs it in
bash as a user would, with the installed commands first on PATH, and checks
the output or status the page promises. What a test stands in is said where
it does it (replaced() fails if the example no longer has it): a pid for
4321, a file in the test's directory for /run/nginx.pid or access.log, a
fraction of a second for a duration that would make the test wait.

test_every_example_is_run_by_a_test reads the @covers of every test file
(without running them) and fails when an example has no test.
"""

import ast
import json
import os
import signal
import subprocess
import textwrap
import time
from pathlib import Path

import pytest

from conftest import ENV, PYTHON, SCRIPTS, alive, children_of, proc_stat, run, shell_status, wait_for
import man_examples
from man_examples import covers, described, every_example, example, replaced
from test_alarm_wait import blocks  # USR1 can no longer be lost: blocked, or waited for in sigtimedwait

pytestmark = pytest.mark.timeout(60)

TESTS = Path(__file__).resolve().parent.parent
SHELL_ENV = dict(ENV, PATH=f"{SCRIPTS}:{ENV.get('PATH', '/usr/bin:/bin')}")


def bash(script: str, janitor=None, **kwargs):
    argv = ["bash", "-c", script]
    if janitor is None:
        return run(argv, env=SHELL_ENV, **kwargs)
    kwargs.setdefault("stdout", subprocess.PIPE)
    kwargs.setdefault("stderr", subprocess.PIPE)
    return janitor.popen(argv, env=SHELL_ENV, start_new_session=True, **kwargs)


def json_lines(text: bytes) -> list[dict]:
    return [json.loads(line) for line in text.decode().splitlines() if line.strip()]


# -- the registry ------------------------------------------------------------------------

def registered() -> dict[tuple[str, str], list[str]]:
    """Every @covers(prog, start) of every test file, read from the source:
    the example it names -> the tests (file::function) that run it."""
    found: dict[tuple[str, str], list[str]] = {}
    for path in sorted(TESTS.rglob("test_*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for decorator in node.decorator_list:
                if not (isinstance(decorator, ast.Call) and getattr(decorator.func, "id", None) == "covers"):
                    continue
                prog, start = (ast.literal_eval(arg) for arg in decorator.args)
                assert node.name.startswith("test_"), f"{path.name}: @covers on {node.name}, which is not a test"
                test = f"{path.relative_to(TESTS.parent)}::{node.name}"
                found.setdefault((prog, example(prog, start)), []).append(test)
    return found


def test_every_example_is_run_by_a_test():
    covered = registered()
    missing = sorted(every_example() - set(covered))
    assert not missing, ("these man page EXAMPLES have no test that runs them (add one, marked "
                         f"@covers(prog, start); see tests/e2e/man_examples.py): {missing}")
    assert set(covered) == every_example()


def test_an_example_added_without_a_test_fails_the_check(monkeypatch):
    page = man_examples.PAGES["sigsend"]
    monkeypatch.setitem(page, "examples", [*page["examples"], ("sigsend --new 1", "Nothing runs this one.")])
    assert every_example() - set(registered()) == {("sigsend", "sigsend --new 1")}


# -- pipe-run(1) --------------------------------------------------------------------------

@covers("pipe-run", 'pipe-run "ls" "wc -l"')
def test_pipe_run_ls_wc(in_tmp):
    for name in ("a", "b c", "d"):
        (in_tmp / name).write_text("")
    ours = bash(example("pipe-run", 'pipe-run "ls" "wc -l"'))
    assert (ours.returncode, ours.stdout) == (0, b"3\n")
    assert ours.stdout == bash("ls | wc -l").stdout  # "like ls | wc -l"


@covers("pipe-run", 'pipe-run --pipefail "yes" "head -1"')
def test_pipe_run_pipefail_yes_head():
    assert described("pipe-run", 'pipe-run --pipefail "yes"').startswith("Prints y and exits 141")
    result = bash(example("pipe-run", 'pipe-run --pipefail "yes" "head -1"'))
    assert (result.returncode, result.stdout, result.stderr) == (141, b"y\n", b"")
    bash_says = bash("set -o pipefail; yes | head -1")
    assert (bash_says.returncode, bash_says.stdout) == (141, b"y\n")


ACCESS_LOG = """\
10.0.0.1 - - [01/Jan/2025:00:00:01 +0000] "GET / HTTP/1.1" 200 512
10.0.0.2 - - [01/Jan/2025:00:00:02 +0000] "GET /a HTTP/1.1" 404 0
10.0.0.1 - - [01/Jan/2025:00:00:03 +0000] "GET /b HTTP/1.1" 200 99
10.0.0.3 - - [01/Jan/2025:00:00:04 +0000] "GET / HTTP/1.1" 200 512
10.0.0.1 - - [01/Jan/2025:00:00:05 +0000] "GET /c HTTP/1.1" 200 7
10.0.0.3 - - [01/Jan/2025:00:00:06 +0000] "GET / HTTP/1.1" 200 512
"""


@covers("pipe-run", "pipe-run -i access.log -o top.txt")
def test_pipe_run_redirections_without_a_shell(in_tmp):
    # a stand-in access.log; the example runs as written
    (in_tmp / "access.log").write_text(ACCESS_LOG)
    result = bash(example("pipe-run", "pipe-run -i access.log -o top.txt"))
    assert (result.returncode, result.stdout, result.stderr) == (0, b"", b"")
    top = (in_tmp / "top.txt").read_text()
    assert top == bash("cut -d' ' -f1 access.log | sort | uniq -c | sort -rn").stdout.decode()
    assert [line.split() for line in top.splitlines()] == [["3", "10.0.0.1"], ["2", "10.0.0.3"], ["1", "10.0.0.2"]]


@covers("pipe-run", 'pipe-run -i words.txt "LC_ALL=C sort -u"')
def test_pipe_run_lc_all_is_the_stage_environment(in_tmp):
    (in_tmp / "words.txt").write_text("b\nB\na\nb\n\u00e9\nA\na\n")
    result = bash(example("pipe-run", 'pipe-run -i words.txt "LC_ALL=C sort -u"'))
    assert (result.returncode, result.stdout) == (0, b"5\n")
    assert result.stdout == bash("LC_ALL=C sort -u words.txt | wc -l").stdout


# pipe-run's tail -f | grep ERROR deadline example: tests/e2e/test_pipe_run_graceful.py.
# pipe-run's --pipefail-sigpipe-ok example: tests/e2e/test_pipe_run_verdicts.py.


@covers("pipe-run", 'pipe-run --label "ls -d / /nonexistent" "wc -l"')
def test_pipe_run_label_ls_wc():
    line = example("pipe-run", "pipe-run --label")
    assert described("pipe-run", "pipe-run --label").startswith("Prints 1, and on stderr: [1 ls] ls: cannot access")
    result = bash(line)
    assert (result.returncode, result.stdout) == (0, b"1\n")
    assert result.stderr == b"[1 ls] ls: cannot access '/nonexistent': No such file or directory\n"


# Stand-in for grep: the real grep reads a file faster than the 10-a-second
# refresh can show; this one reads big.log 64 KiB at a time, 20 ms apart, and
# prints the lines containing ERROR, as grep ERROR does.
SLOW_GREP = """#!{python}
import os, sys, time
rest = b""
while True:
    data = os.read(0, 65536)
    if not data:
        break
    lines = (rest + data).split(b"\\n")
    rest = lines.pop()
    sys.stdout.buffer.write(b"".join(line + b"\\n" for line in lines if b"ERROR" in line))
    time.sleep(0.02)
"""


@covers("pipe-run", 'pipe-run --progress -i big.log -o errors.txt "grep ERROR"')
def test_pipe_run_progress_on_a_terminal(in_tmp):
    import io

    import pexpect

    line = example("pipe-run", "pipe-run --progress")
    shims = in_tmp / "shims"
    shims.mkdir()
    (shims / "grep").write_text(SLOW_GREP.format(python=PYTHON))
    (shims / "grep").chmod(0o755)
    chunk = b"".join(b"INFO line %d\n" % n for n in range(5000)) + b"ERROR disk full\n"
    (in_tmp / "big.log").write_bytes(chunk * 40)  # about 3.2 MB: 50 reads, a second or more
    env = dict(SHELL_ENV, PATH=f"{shims}:{SHELL_ENV['PATH']}")
    child = pexpect.spawn("bash", ["-c", line], cwd=str(in_tmp), env=env, timeout=40, dimensions=(24, 160))
    child.logfile_read = io.BytesIO()
    try:
        child.expect(rb"\r\d+% [\d.]+[KM]iB of [\d.]+MiB [\d.]+[KM]?i?B/s")  # as the page shows
        child.expect(rb"ETA \d+:\d\d")
        child.expect(rb"\[1 grep\] r ")
        child.expect(pexpect.EOF)
        child.wait()
    finally:
        child.close(force=True)
    assert child.exitstatus == 0
    assert (in_tmp / "errors.txt").read_bytes() == b"ERROR disk full\n" * 40
    output = child.logfile_read.getvalue()
    assert output.rstrip(b" ").endswith(b"\r")  # "erased at the end"


@covers("pipe-run", 'pipe-run --trace "echo hi" "tr a-z A-Z"')
def test_pipe_run_trace():
    result = bash(example("pipe-run", "pipe-run --trace"))
    assert (result.returncode, result.stdout) == (0, b"HI\n")
    steps = result.stderr.decode().splitlines()
    assert all(step.startswith("pipe-run: [pid ") for step in steps), steps
    text = "\n".join(steps)
    for call in ("pipe() = [", "fork() = ", "dup2(", "execve(", "['echo', 'hi']", "['tr', 'a-z', 'A-Z']",
                 "waitpid("):
        assert call in text, (call, text)  # "the pipe, forks, dup2s and execs"


SERVER = """\
import sys
for request in sys.stdin:
    print("pong " + request.split()[1], flush=True)
"""
CLIENT = """\
import sys
for n in range(3):
    print("ping", n, flush=True)
    print("client got:", sys.stdin.readline().strip(), file=sys.stderr, flush=True)
"""


@covers("pipe-run", 'pipe-run --cycle "python3 server.py" "python3 client.py"')
def test_pipe_run_cycle_server_client(in_tmp):
    # stand-ins: a server answering each line, a client asking three times then leaving
    (in_tmp / "server.py").write_text(SERVER)
    (in_tmp / "client.py").write_text(CLIENT)
    result = bash(example("pipe-run", "pipe-run --cycle"), timeout=30)
    assert (result.returncode, result.stdout) == (0, b"")
    assert result.stderr == b"client got: pong 0\nclient got: pong 1\nclient got: pong 2\n"


# -- sigsend(1) ---------------------------------------------------------------------------

PLAIN = "import time; print('READY', flush=True); time.sleep(60)"  # ends on TERM
STUBBORN = ("import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('READY', flush=True); "
            "time.sleep(60)")


def start(janitor, code):
    proc = janitor.popen([PYTHON, "-c", code], stdout=subprocess.PIPE)
    assert proc.stdout.readline() == b"READY\n"
    return proc


@covers("sigsend", "sigsend TERM 4321")
def test_sigsend_term(janitor):
    target = start(janitor, PLAIN)  # stands in for 4321
    result = bash(replaced(example("sigsend", "sigsend TERM 4321"), ("4321", str(target.pid))))
    assert (result.returncode, result.stdout, result.stderr) == (0, b"", b"")
    assert target.wait(timeout=20) == -signal.SIGTERM


@covers("sigsend", "sigsend -- TERM -4321")
def test_sigsend_a_process_group(janitor):
    # a group of three: sh and its two sleeps; its pgid stands in for 4321
    group = janitor.popen(["sh", "-c", "sleep 60 & sleep 60 & echo READY; wait"], stdout=subprocess.PIPE,
                          start_new_session=True)
    assert group.stdout.readline() == b"READY\n"
    sleeps = wait_for(lambda: [p for p in children_of(group.pid) if (proc_stat(p) or ("",))[0] == "sleep"] or None
                      if len(children_of(group.pid)) == 2 else None, 15, "both sleeps")
    result = bash(replaced(example("sigsend", "sigsend -- TERM -4321"), ("4321", str(group.pid))))
    assert (result.returncode, result.stderr) == (0, b"")
    assert group.wait(timeout=20) == -signal.SIGTERM
    wait_for(lambda: not any(alive(pid) for pid in sleeps), 15, "every process of the group to end")


@covers("sigsend", "sigsend --wait 5 --escalate KILL TERM 4321")
def test_sigsend_wait_then_escalate(janitor):
    line = example("sigsend", "sigsend --wait 5 --escalate KILL TERM 4321")
    # One that ends on TERM: no KILL, and no waiting the whole 5 seconds.
    polite = start(janitor, PLAIN)
    began = time.monotonic()
    result = bash(replaced(line, ("4321", str(polite.pid))))
    assert (result.returncode, result.stderr) == (0, b"")
    assert time.monotonic() - began < 4
    assert polite.wait(timeout=20) == -signal.SIGTERM
    # One that ignores TERM: KILLed once the wait is over (0.3 s stands in for 5).
    stubborn = start(janitor, STUBBORN)
    result = bash(replaced(line, ("4321", str(stubborn.pid)), ("--wait 5", "--wait 0.3")))
    assert result.returncode == 0
    assert result.stderr.decode() == f"sigsend: {stubborn.pid} is still running after --wait 0.3: sending KILL\n"
    assert stubborn.wait(timeout=20) == -signal.SIGKILL


@covers("sigsend", "sigsend 0 --pidfile /run/nginx.pid")
def test_sigsend_0_pidfile(in_tmp, janitor):
    line = replaced(example("sigsend", "sigsend 0 --pidfile"), ("/run/nginx.pid", "nginx.pid"))
    server = start(janitor, PLAIN)  # stands in for nginx
    (in_tmp / "nginx.pid").write_text(f"{server.pid}\n")
    assert bash(line).returncode == 0
    server.kill()
    server.wait(timeout=20)
    result = bash(line)  # a stale pidfile: the process is gone
    assert result.returncode == 1
    assert result.stderr.decode() == f"sigsend: cannot signal {server.pid} (from nginx.pid): No such process\n"
    assert alive(os.getpid())  # signal 0 sent nothing anywhere


SIGINFO_HELPER = textwrap.dedent("""
    import ctypes, os, signal
    libc = ctypes.CDLL(None, use_errno=True)
    signo = signal.SIGRTMIN + 1
    signal.pthread_sigmask(signal.SIG_BLOCK, [signo])
    sigset = (ctypes.c_ubyte * 128)()
    libc.sigemptyset(sigset)
    libc.sigaddset(sigset, signo)
    print("READY", flush=True)
    info = (ctypes.c_ubyte * 128)()
    got = libc.sigwaitinfo(sigset, info)
    value = int.from_bytes(bytes(info[24:28]), "little", signed=True)  # si_value.sival_int
    print("GOT", got, value, flush=True)
""")


@covers("sigsend", "sigsend --queue 42 RTMIN+1 4321")
def test_sigsend_queue_a_value(janitor):
    receiver = start(janitor, SIGINFO_HELPER)  # stands in for 4321: prints si_value
    result = bash(replaced(example("sigsend", "sigsend --queue 42"), ("4321", str(receiver.pid))))
    assert (result.returncode, result.stderr) == (0, b"")
    assert receiver.stdout.readline() == f"GOT {signal.SIGRTMIN + 1} 42\n".encode()


@covers("sigsend", "sigsend -l 137")
def test_sigsend_list_137():
    assert described("sigsend", "sigsend -l 137").startswith("Prints KILL")
    result = bash(example("sigsend", "sigsend -l 137"))
    assert (result.returncode, result.stdout) == (0, b"KILL\n")


# -- alarm-wait(1) ------------------------------------------------------------------------

@covers("alarm-wait", "alarm-wait 1.5")
def test_alarm_wait_sleeps():
    line = replaced(example("alarm-wait", "alarm-wait 1.5"), ("1.5", "0.3"))  # 0.3 s stands in for 1.5
    began = time.monotonic()
    result = bash(line)
    assert (result.returncode, result.stdout, result.stderr) == (0, b"", b"")
    assert time.monotonic() - began >= 0.3


@covers("alarm-wait", "alarm-wait --until USR1 30 && echo ready")
def test_alarm_wait_until_usr1(janitor):
    line = example("alarm-wait", "alarm-wait --until USR1 30")
    shell = bash(line, janitor)
    (waiter,) = wait_for(lambda: children_of(shell.pid), 15, "alarm-wait")
    # (this example has no --ready-fd: wait until USR1 is blocked, or the signal would kill it)
    wait_for(lambda: blocks(waiter, signal.SIGUSR1), 15, "alarm-wait to block USR1")
    assert bash(f"sigsend USR1 {waiter}").returncode == 0  # "someone runs sigsend USR1 on this process"
    out, err = shell.communicate(timeout=20)
    assert (shell.returncode, out, err) == (0, b"ready\n", b"")
    # Nobody signals it: 124 once the alarm fires (0.3 s stands in for 30), and no "ready".
    result = bash(replaced(line, (" 30 ", " 0.3 ")))
    assert (result.returncode, result.stdout) == (124, b"")


@covers("alarm-wait", "exec 3< <(alarm-wait --until USR1 --ready-fd 4 30 4>&1)")
def test_alarm_wait_ready_fd_no_race():
    # the waiter's own status, from bash's wait for the process substitution
    script = example("alarm-wait", "exec 3< <(alarm-wait") + '; wait $!; echo "alarm-wait exited $?"'
    for _ in range(5):  # no sleep, no race: every time
        result = bash(script, timeout=30)
        assert (result.returncode, result.stdout, result.stderr) == (0, b"alarm-wait exited 0\n", b"")


@covers("alarm-wait", "alarm-wait --every 1 --count 3")
def test_alarm_wait_ticks():
    line = replaced(example("alarm-wait", "alarm-wait --every 1"), ("--every 1", "--every 0.2"))  # 0.2 s for 1
    began = time.monotonic()
    result = bash(line)
    assert (result.returncode, result.stdout) == (0, b"tick 1\ntick 2\ntick 3\n")
    assert time.monotonic() - began >= 0.6


MAKEFILE_TEST = """\
test:
\techo $$$$ > pids; sleep 30 & echo $$! >> pids; sleep 30 & echo $$! >> pids; wait
"""


@covers("alarm-wait", "alarm-wait 10 -- make test")
def test_alarm_wait_make_test(in_tmp):
    # a stand-in Makefile whose test target never ends; 0.5 s stands in for 10 s
    (in_tmp / "Makefile").write_text(MAKEFILE_TEST)
    result = bash(replaced(example("alarm-wait", "alarm-wait 10 --"), ("alarm-wait 10", "alarm-wait 0.5")),
                  timeout=30)
    assert result.returncode == 124, result.stderr
    pids = [int(pid) for pid in (in_tmp / "pids").read_text().split()]
    assert len(pids) == 3  # the recipe's shell and its two sleeps: the whole group was terminated
    assert not any(alive(pid) and proc_stat(pid)[0] in ("sh", "sleep") for pid in pids)


SERVER_POLITE = """\
#!/bin/sh
trap 'echo "server on $2: interrupted"; exit 0' INT
echo "server on $2: listening"
while :; do sleep 0.05; done
"""
SERVER_STUBBORN = """\
#!/bin/sh
trap '' INT
echo "server on $2: listening"
while :; do sleep 0.05; done
"""


@covers("alarm-wait", "alarm-wait -k 5 -s INT 1m -- ./server --port 8080")
def test_alarm_wait_interrupt_then_kill_a_server(in_tmp):
    # stand-in servers; 0.5 s stands in for 1m and for -k 5
    line = replaced(example("alarm-wait", "alarm-wait -k 5 -s INT 1m"), ("1m", "0.5"), ("-k 5", "-k 0.5"))
    server = in_tmp / "server"
    server.write_text(SERVER_POLITE)
    server.chmod(0o755)
    result = bash(line, timeout=30)  # interrupted, it exits: the deadline's 124
    assert (result.returncode, result.stdout) == (124, b"server on 8080: listening\nserver on 8080: interrupted\n")
    server.write_text(SERVER_STUBBORN)
    result = bash(line, timeout=30)  # it ignores INT: KILLed -k later, 137
    assert (result.returncode, result.stdout) == (137, b"server on 8080: listening\n")


# -- reap-watch(1) (its first two examples: test_reap_watch.py) -------------------------------

NEGLECTFUL_PARENT = """\
import os, time
child = os.fork()
if child == 0:
    os._exit(0)
print(child, flush=True)
time.sleep(60)  # never waits: the child stays a zombie
"""


@covers("reap-watch", "reap-watch --zombies")
def test_reap_watch_zombies(janitor):
    parent = janitor.popen([PYTHON, "-c", NEGLECTFUL_PARENT], stdout=subprocess.PIPE)
    zombie = int(parent.stdout.readline())
    wait_for(lambda: proc_stat(zombie) and proc_stat(zombie)[1] == "Z", 15, "the zombie")
    result = bash(example("reap-watch", "reap-watch --zombies"))
    assert result.returncode == 1  # "exit 1 if there are any"
    rows = [line.split() for line in result.stdout.decode().splitlines()]
    assert rows[0] == ["PID", "NAME", "PPID", "PARENT", "AGE"]  # the zombies "with their parents"
    assert [str(zombie), str(parent.pid)] in [[row[0], row[2]] for row in rows[1:]]


@covers("reap-watch", "reap-watch --wait-all --json")
def test_reap_watch_five_orphans(in_tmp):
    line = replaced(example("reap-watch", "reap-watch --wait-all --json"), ("sleep 1", "sleep 0.3"))  # 0.3 s for 1
    result = bash(line, timeout=30)
    assert result.returncode == 0, result.stderr
    deaths = json_lines(result.stderr)  # "each ... reported as one JSON line"
    child = [d for d in deaths if not d["adopted"]]
    orphans = [d for d in deaths if d["adopted"]]
    assert [(d["name"], d["status"]) for d in child] == [("sh", 0)]
    assert [(d["name"], d["status"]) for d in orphans] == [("sleep", 0)] * 5


MAKEFILE_J4 = """\
all: a b c d
a b c:
\ttrap 'echo got TERM > $@.term; exit 0' TERM; sleep 30 & wait
d:
\ttrap '' TERM; sleep 30
"""


@covers("reap-watch", 'reap-watch --group --grace 10s "make -j4"')
def test_reap_watch_group_grace_make(in_tmp, janitor):
    # a stand-in Makefile: four jobs at once, one of which ignores TERM; 1 s stands in for 10 s
    (in_tmp / "Makefile").write_text(MAKEFILE_J4)
    line = replaced(example("reap-watch", "reap-watch --group --grace"), ("10s", "1s"))
    watcher = bash("exec " + line, janitor)  # exec: the shell's pid is reap-watch's
    every = lambda: [p for p in all_below(watcher.pid) if (proc_stat(p) or ("",))[0] == "sleep"]  # noqa: E731
    sleeps = wait_for(lambda: every() if len(every()) == 4 else None, 20, "the four jobs' sleeps")
    began = time.monotonic()
    os.kill(watcher.pid, signal.SIGTERM)  # "a SIGTERM to reap-watch reaches every process of the group"
    _, err = watcher.communicate(timeout=30)
    took, text = time.monotonic() - began, err.decode()
    assert 1 <= took < 9.5, (took, text)  # KILL came with the (shortened) grace, not 10 s later
    assert not any(alive(pid) for pid in sleeps), text
    # TERM reached every job of the group (make reaps them itself: they say so)...
    # (make passes its TERM on to them as well: a job may run its trap twice, hence one file each)
    assert sorted(path.name for path in in_tmp.glob("*.term")) == ["a.term", "b.term", "c.term"], text
    # ... and KILL followed, --grace after it, for what was left: make, which waits for the
    # job that ignores TERM, and that job (reaped, but not always reported: no --wait-all)
    make = [line for line in text.splitlines() if " (make): " in line]
    assert len(make) == 1 and make[0].startswith("reap-watch: pid "), text
    assert " (make): killed by SIGKILL (after " in make[0], text
    assert shell_status(watcher.returncode) == 137, text  # make's status: reap-watch does not die of the TERM


def all_below(root: int) -> list[int]:
    out, todo = [], [root]
    while todo:
        for kid in children_of(todo.pop()):
            out.append(kid)
            todo.append(kid)
    return out


@covers("reap-watch", "reap-watch --pid 1234 --pid 5678 --timeout 1m")
def test_reap_watch_two_pids_with_a_timeout(janitor):
    line = example("reap-watch", "reap-watch --pid 1234 --pid 5678")
    short, long = janitor.popen(["sleep", "0.3"]), janitor.popen(["sleep", "60"])  # not reap-watch's children
    # 2 s stands in for a minute: one of them is still running then
    result = bash(replaced(line, ("1234", str(short.pid)), ("5678", str(long.pid)), ("1m", "2")))
    assert result.returncode == 124
    err = result.stderr.decode()
    assert f"pid {short.pid} (sleep): exited 0" in err
    assert err.endswith(f"reap-watch: --timeout 2 reached; still running: pid {long.pid}\n")
    # both end in time: 0
    first, second = janitor.popen(["sleep", "0.2"]), janitor.popen(["sleep", "0.4"])
    result = bash(replaced(line, ("1234", str(first.pid)), ("5678", str(second.pid))))
    assert result.returncode == 0, result.stderr
    assert f"pid {first.pid} (sleep): exited 0" in result.stderr.decode()
    assert f"pid {second.pid} (sleep): exited 0" in result.stderr.decode()
