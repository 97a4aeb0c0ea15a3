"""Every bad input clean (issue 12): a table of bad command lines over the
seven commands, each run through its installed console script as a user
would, in a directory of its own and a session of its own.

For each case: the exit code (one the command's man page documents); stderr
exactly one line 'COMMAND: ...' holding the expected words, plus coreutils'
"Try 'COMMAND --help' for more information." line for usage errors; nothing
on stdout; no file created, changed or removed in its directory (names,
types, modes, sizes, mtimes and contents compared); and no process left in
its session.

The cases run in a small thread pool once per module (the commands are
mostly start-up time), and each case is then checked as a test of its own.
fifo-recv's memory bound for a 200 MiB line is tested in test_fifo_channels.py
(test_max_size_bounds_a_receivers_memory): it needs a writer, not a bad argv.
"""

from __future__ import annotations

import importlib
import os
import shlex
import signal
import stat
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from conftest import ENV, alive, script

pytestmark = pytest.mark.timeout(300)  # the first case's setup runs the whole table

MODULES = {"pipe-run": "pipe_run", "mkfifo-cat": "mkfifo_cat", "fifo-send": "fifo_send", "fifo-recv": "fifo_recv",
           "sigsend": "sigsend", "alarm-wait": "alarm_wait", "reap-watch": "reap_watch"}
USAGE = {prog: 125 if prog == "alarm-wait" else 2 for prog in MODULES}  # coreutils timeout's usage code is 125
NOT_A_PID = "2147483647"  # within pid_t, beyond any pid_max: never a process
CASE_TIMEOUT = 20  # a case that hangs (sigsend --pidfile FIFO did) is killed and fails


class Case:
    """prog args: exits code, says needle. usage: a usage error (the Try line
    follows). stdout: 'full' (/dev/full) or 'closed' (fd 1 closed at start).
    {pid} in args: a live process that no case may signal."""

    def __init__(self, prog, args, code, needle, *, usage=None, stdout=None):
        self.prog, self.args, self.code, self.needle = prog, list(args), code, needle
        self.usage = (code == USAGE[prog]) if usage is None else usage
        self.stdout = stdout

    @property
    def id(self):
        shown = [a if len(a) <= 40 else f"{a[:4]}...({len(a)} chars)" for a in self.args]
        return shlex.join([self.prog, *shown]) + {None: "", "full": " >/dev/full", "closed": " >&-"}[self.stdout]


def usage(prog, args, needle):
    return Case(prog, args, USAGE[prog], needle, usage=True)


def failure(prog, args, needle, code=1, **kwargs):
    return Case(prog, args, code, needle, usage=False, **kwargs)


SUPER2, ARABIC5, ARABIC15, LONG_S = "\u00b2", "\u0665", "\u0661\u0665", "\u017figterm"

CASES = [
    # -- pipe-run ------------------------------------------------------------------------
    usage("pipe-run", [], "STAGE"),
    usage("pipe-run", ["--bogus", "true"], "no such option: --bogus"),
    usage("pipe-run", ["--timeout", "abc", "true"], "--timeout: invalid duration 'abc'"),
    usage("pipe-run", ["--timeout", "-1", "true"], "cannot be negative"),
    usage("pipe-run", ["--timeout", "nan", "true"], "invalid duration 'nan'"),
    usage("pipe-run", ["--timeout", "1 ", "true"], "invalid duration '1 '"),
    usage("pipe-run", ["--timeout", SUPER2, "true"], f"invalid duration '{SUPER2}'"),
    usage("pipe-run", ["--timeout", "1_0", "true"], "invalid duration '1_0'"),
    usage("pipe-run", ["--timeout", "0.2", "-s", SUPER2, "sleep 5"], f"--signal: invalid signal '{SUPER2}'"),
    usage("pipe-run", ["-s", f"RTMIN+{SUPER2}", "true"], "--signal: invalid signal"),
    usage("pipe-run", ["-s", "65", "true"], "--signal: invalid signal number '65'"),
    usage("pipe-run", ["-s", "0", "true"], "--signal: invalid signal number '0'"),
    usage("pipe-run", ["-s", "FOO", "true"], "--signal: unknown signal 'FOO'"),
    usage("pipe-run", ["-s", LONG_S, "true"], f"--signal: invalid signal '{LONG_S}'"),
    usage("pipe-run", ["-k", "1", "true"], "--kill-after needs --timeout"),
    usage("pipe-run", ["--timeout", "1", "-k", "x", "true"], "--kill-after: invalid duration 'x'"),
    usage("pipe-run", ["-o", "out.txt", "-a", "out.txt", "true"], "cannot be used together"),
    usage("pipe-run", ["--report-file", "r", "true"], "--report-file needs --report"),
    usage("pipe-run", ["--report", "xml", "true"], "xml"),
    usage("pipe-run", ["--cycle", "-o", "out.txt", "cat", "cat"], "--cycle"),
    usage("pipe-run", [""], "empty command"),
    usage("pipe-run", ["echo 'a"], "no closing quotation"),
    usage("pipe-run", ["echo \\"], "no escaped character"),
    usage("pipe-run", ["-o", "out.txt", "echo 'unbalanced"], "no closing quotation"),
    usage("pipe-run", ["-o", "out.txt", "--timeout", "x", "echo hi"], "--timeout: invalid duration 'x'"),
    failure("pipe-run", ["-o", "out.txt", "--report", "text", "--report-file", "/nonexistent/r", "echo hi"],
            "cannot open '/nonexistent/r': No such file or directory"),
    failure("pipe-run", ["-o", "out.txt", "--report", "text", "--report-file", "d", "echo hi"],
            "cannot open 'd': Is a directory"),
    failure("pipe-run", ["-o", "new.txt", "--report", "json", "--report-file", "nodir/r", "echo hi"],
            "cannot open 'nodir/r'"),
    failure("pipe-run", ["-a", "out.txt", "--report", "json", "--report-file", "nodir/r", "echo hi"],
            "cannot open 'nodir/r'"),
    failure("pipe-run", ["-o", "d", "echo hi"], "cannot open 'd': Is a directory"),
    failure("pipe-run", ["-a", "nodir/x", "true"], "cannot open 'nodir/x'"),
    failure("pipe-run", ["-i", "missing", "-o", "out.txt", "cat"], "cannot open 'missing'"),
    failure("pipe-run", ["-i", "d", "cat"], "Is a directory"),
    failure("pipe-run", ["-i", "out.txt", "-o", "out.txt", "cat"], "both the input and the output"),
    failure("pipe-run", ["-i", "in.txt", "--report", "text", "--report-file", "in.txt", "cat"],
            "both the input and the output"),
    failure("pipe-run", ["--report", "text", "--report-file", "/dev/full", "true"],
            "cannot write the report to '/dev/full': No space left on device"),
    failure("pipe-run", ["no-such-command-xyz"], "no-such-command-xyz: command not found", code=127),
    # -- reap-watch ----------------------------------------------------------------------
    usage("reap-watch", [], "missing COMMAND"),
    usage("reap-watch", ["--pid", "+5"], "--pid: invalid pid '+5'"),
    usage("reap-watch", ["--pid", " 5"], "--pid: invalid pid ' 5'"),
    usage("reap-watch", ["--pid", ARABIC5], f"--pid: invalid pid '{ARABIC5}'"),
    usage("reap-watch", ["--pid", SUPER2], f"--pid: invalid pid '{SUPER2}'"),
    usage("reap-watch", ["--pid", " 4000000", "--timeout", "0.2"], "--pid: invalid pid ' 4000000'"),
    usage("reap-watch", ["--pid", "0"], "--pid: invalid pid '0'"),
    usage("reap-watch", ["--pid", "99999999999"], "--pid: invalid pid '99999999999'"),
    usage("reap-watch", ["--pid", "9" * 5000], "--pid: invalid pid"),
    usage("reap-watch", ["--pid", "abc"], "--pid: invalid pid 'abc'"),
    usage("reap-watch", ["--pid", "{pid}", "--timeout", "x"], "--timeout: invalid duration 'x'"),
    usage("reap-watch", ["--pid", "{pid}", "--timeout", "-5"], "cannot be negative"),
    usage("reap-watch", ["--pid", "{pid}", "true"], "cannot be used together"),
    usage("reap-watch", ["--pid"], "requires an argument"),
    usage("reap-watch", ["--grace", "soon", "true"], "--grace: invalid duration 'soon'"),
    usage("reap-watch", ["--grace", "-1", "true"], "cannot be negative"),
    usage("reap-watch", ["--timeout", "1", "true"], "--timeout works with --pid only"),
    usage("reap-watch", ["--zombies", "true"], "cannot be used together"),
    usage("reap-watch", ["--wait-all", "--zombies"], "need a COMMAND"),
    usage("reap-watch", ["sh -c 'unbalanced"], "no closing quotation"),
    usage("reap-watch", ["   "], "empty command"),
    usage("reap-watch", ["-o", "out.txt", "   "], "empty command"),
    usage("reap-watch", ["-o", "out.txt", "--grace", "x", "true"], "--grace: invalid duration 'x'"),
    usage("reap-watch", ["--bogus"], "no such option: --bogus"),
    failure("reap-watch", ["--pid", NOT_A_PID], f"--pid {NOT_A_PID}: no such process"),
    failure("reap-watch", ["-o", "out.txt", "--pid", NOT_A_PID], f"--pid {NOT_A_PID}: no such process"),
    failure("reap-watch", ["-o", "/dev/full", "true"], "cannot write the report to '/dev/full': No space left on device"),
    failure("reap-watch", ["-o", "nodir/r", "true"], "cannot open 'nodir/r'"),
    failure("reap-watch", ["-o", "d", "true"], "cannot open 'd': Is a directory"),
    failure("reap-watch", ["no-such-command-xyz"], "no-such-command-xyz: command not found", code=127),
    # -- sigsend -------------------------------------------------------------------------
    usage("sigsend", [], "missing SIGNAL"),
    usage("sigsend", ["TERM"], "missing TARGET"),
    usage("sigsend", [SUPER2, "{pid}"], f"invalid signal '{SUPER2}'"),
    usage("sigsend", [f"RTMIN+{SUPER2}", "{pid}"], f"invalid signal 'RTMIN+{SUPER2}'"),
    usage("sigsend", ["-l", SUPER2], f"invalid signal '{SUPER2}'"),
    usage("sigsend", ["-l", ARABIC15], f"invalid signal '{ARABIC15}'"),
    usage("sigsend", ["-l", "500"], "neither a signal number"),
    usage("sigsend", ["-l", "9" * 5000], "neither a signal number"),
    usage("sigsend", ["-l", "TERM", "1"], "-l takes at most one argument"),
    usage("sigsend", ["--wait", "0.2", "--escalate", SUPER2, "0", "{pid}"], f"--escalate: invalid signal '{SUPER2}'"),
    usage("sigsend", ["--escalate", "KILL", "TERM", "{pid}"], "--escalate needs --wait"),
    usage("sigsend", ["--wait", "x", "TERM", "{pid}"], "--wait: invalid duration 'x'"),
    usage("sigsend", ["--wait", "-1", "TERM", "{pid}"], "cannot be negative"),
    usage("sigsend", ["--wait", "1e", "TERM", "{pid}"], "--wait: invalid duration '1e'"),
    usage("sigsend", ["TERM", "+5"], "invalid target '+5'"),
    usage("sigsend", ["TERM", " 5"], "invalid target ' 5'"),
    usage("sigsend", ["TERM", ARABIC5], f"invalid target '{ARABIC5}'"),
    usage("sigsend", ["TERM", "abc"], "invalid target 'abc'"),
    usage("sigsend", ["TERM", "99999999999"], "invalid target '99999999999'"),
    usage("sigsend", ["TERM", "-1"], "sigsend --all TERM -- -1"),
    usage("sigsend", ["-1", "{pid}"], "a signal is written without a dash: sigsend 1 {pid}"),
    usage("sigsend", ["-TERM", "{pid}"], "a signal is written without a dash: sigsend TERM {pid}"),
    usage("sigsend", ["-9", "{pid}"], "a signal is written without a dash: sigsend 9 {pid}"),
    usage("sigsend", ["TERM", "-{pid}"], "a process group is written after --: sigsend TERM -- -{pid}"),
    usage("sigsend", ["TERM", "--", "-1"], "refusing to signal -1"),
    usage("sigsend", ["FOO", "{pid}"], "unknown signal 'FOO'"),
    usage("sigsend", ["65", "{pid}"], "invalid signal number '65'"),
    usage("sigsend", [LONG_S, "{pid}"], f"invalid signal '{LONG_S}'"),
    usage("sigsend", [" TERM", "{pid}"], "invalid signal ' TERM'"),
    usage("sigsend", ["-s", SUPER2, "{pid}"], f"invalid signal '{SUPER2}'"),
    usage("sigsend", ["-s", "TERM", "-l"], "-l and --signal"),
    usage("sigsend", ["--queue", "x", "RTMIN", "{pid}"], "--queue: invalid value 'x'"),
    usage("sigsend", ["--queue", "99999999999", "RTMIN", "{pid}"], "--queue: invalid value '99999999999'"),
    usage("sigsend", ["--queue", "1", "RTMIN", "0"], "--queue sends to single processes only"),
    usage("sigsend", ["--bogus"], "no such option: --bogus"),
    failure("sigsend", ["0", "--pidfile", "p"], "pidfile 'p' is a FIFO, not a regular file"),
    failure("sigsend", ["0", "--pidfile", "d"], "pidfile 'd' is a directory, not a regular file"),
    failure("sigsend", ["0", "--pidfile", "/dev/null"], "is a character device, not a regular file"),
    failure("sigsend", ["0", "--pidfile", "missing.pid"], "cannot read pidfile 'missing.pid': No such file or directory"),
    failure("sigsend", ["TERM", "{pid}", "--pidfile", "bad.pid"], "pidfile 'bad.pid' holds no pid (found 'nope')"),
    failure("sigsend", ["TERM", "{pid}", "--pidfile", "empty.pid"], "pidfile 'empty.pid' holds no pid (empty)"),
    failure("sigsend", ["TERM", NOT_A_PID], f"cannot send TERM to {NOT_A_PID}: No such process"),
    failure("sigsend", ["-l"], "No space left on device", stdout="full"),
    failure("sigsend", ["-l", "--", "TERM"], "Bad file descriptor", stdout="closed"),
    # -- alarm-wait (coreutils timeout's codes: 125 for its own failures, usage included) --
    usage("alarm-wait", [], "missing DURATION"),
    usage("alarm-wait", ["abc"], "invalid duration 'abc'"),
    usage("alarm-wait", ["-1"], "invalid duration '-1': a duration cannot be negative"),
    usage("alarm-wait", ["-1e3"], "invalid duration '-1e3': a duration cannot be negative"),
    usage("alarm-wait", ["-inf"], "cannot be negative"),
    usage("alarm-wait", ["nan"], "invalid duration 'nan'"),
    usage("alarm-wait", [SUPER2], f"invalid duration '{SUPER2}'"),
    usage("alarm-wait", ["1 "], "invalid duration '1 '"),
    usage("alarm-wait", ["0x"], "invalid duration '0x'"),
    usage("alarm-wait", ["-s", SUPER2, "0.2", "--", "sleep", "5"], f"--signal: invalid signal '{SUPER2}'"),
    usage("alarm-wait", ["-s", "FOO", "1", "--", "true"], "--signal: unknown signal 'FOO'"),
    usage("alarm-wait", ["-s", "65", "1", "--", "true"], "--signal: invalid signal number '65'"),
    usage("alarm-wait", ["--until", SUPER2, "0.2"], f"--until: invalid signal '{SUPER2}'"),
    usage("alarm-wait", ["--until", "KILL", "1"], "cannot be waited for"),
    usage("alarm-wait", ["--until", "0", "1"], "--until: invalid signal number '0'"),
    usage("alarm-wait", ["--until", "USR1", "1", "--", "true"], "wait without a COMMAND"),
    usage("alarm-wait", ["--every", "0", "--count", "1"], "--every: the interval must be more than 0"),
    usage("alarm-wait", ["--every", "x"], "--every: invalid duration 'x'"),
    usage("alarm-wait", ["--every", "0.01", "--count", "-1"], "--count: invalid count '-1'"),
    usage("alarm-wait", ["--every", "0.01", "--count", "+1"], "--count: invalid count '+1'"),
    usage("alarm-wait", ["--every", "0.01", "--count", "\u0663"], "--count: invalid count '\u0663'"),
    usage("alarm-wait", ["--every", "0.01", "--count", "9" * 30], "--count: invalid count"),
    usage("alarm-wait", ["--count", "3", "1"], "--count needs --every"),
    usage("alarm-wait", ["-k", "x", "1", "--", "true"], "--kill-after: invalid duration 'x'"),
    usage("alarm-wait", ["-k", "1", "1"], "need a COMMAND"),
    usage("alarm-wait", ["1", "--"], "missing COMMAND after --"),
    usage("alarm-wait", ["--bogus", "1"], "no such option: --bogus"),
    failure("alarm-wait", ["0.1", "--", "no-such-command-xyz"], "failed to run command 'no-such-command-xyz'", code=127),
    failure("alarm-wait", ["0.1", "--", "./d"], "failed to run command './d': Is a directory", code=126),
    failure("alarm-wait", ["--every", "0.01", "--count", "2"], "write error: No space left on device", code=125,
            stdout="full"),
    failure("alarm-wait", ["--every", "0.01", "--count", "1"], "write error: Bad file descriptor", code=125,
            stdout="closed"),
    # -- mkfifo-cat, fifo-send, fifo-recv ------------------------------------------------
    usage("mkfifo-cat", [], "PATH"),
    usage("mkfifo-cat", ["--timeout", "x", "p"], "--timeout: invalid duration 'x'"),
    usage("mkfifo-cat", ["--timeout", SUPER2, "p"], f"--timeout: invalid duration '{SUPER2}'"),
    usage("mkfifo-cat", ["--mode", "999", "p"], "--mode: invalid mode '999'"),
    failure("mkfifo-cat", ["out.txt"], "out.txt"),
    failure("mkfifo-cat", ["nodir/p"], "'nodir/p': No such file or directory"),
    failure("mkfifo-cat", ["--timeout", "0.1", "p"], "nothing arrived within 0.1s", code=124),
    failure("mkfifo-cat", ["d"], "'d'"),
    usage("fifo-send", [], "PATH"),
    usage("fifo-send", ["--timeout", "abc", "p", "x"], "--timeout: invalid duration 'abc'"),
    usage("fifo-send", ["-f", "bogus", "p", "x"], "bogus"),
    usage("fifo-send", ["--mode", "abc", "--create", "new", "x"], "--mode: invalid mode 'abc'"),
    failure("fifo-send", ["--no-wait", "p", "x"], "nobody has 'p' open for reading"),
    failure("fifo-send", ["out.txt", "x"], "out.txt"),
    failure("fifo-send", ["missing", "x"], "'missing': No such FIFO"),
    failure("fifo-send", ["--timeout", "0.1", "p", "x"], "no reader came within 0.1s", code=124),
    usage("fifo-recv", [], "PATH"),
    usage("fifo-recv", ["--count", "-1", "p"], "--count: invalid count '-1'"),
    usage("fifo-recv", ["--count", "+1", "p"], "--count: invalid count '+1'"),
    usage("fifo-recv", ["--count", "\u0663", "p"], "--count: invalid count '\u0663'"),
    usage("fifo-recv", ["--count", "1_0", "p"], "--count: invalid count '1_0'"),
    usage("fifo-recv", ["--timeout", "nan", "p"], "--timeout: invalid duration 'nan'"),
    failure("fifo-recv", ["out.txt"], "out.txt"),
    failure("fifo-recv", ["missing"], "'missing': No such FIFO"),
    failure("fifo-recv", ["--timeout", "0.1", "p"], "no writer came within 0.1s", code=124),
    # the FIFO channel options (issue 10)
    usage("fifo-recv", ["--max-size", "0", "p"], "--max-size: invalid size '0'"),
    usage("fifo-recv", ["--max-size", "1T", "p"], "--max-size: invalid size '1T'"),
    usage("fifo-recv", ["--max-size", SUPER2, "p"], f"--max-size: invalid size '{SUPER2}'"),
    usage("fifo-send", ["--max-size", "-4K", "p"], "--max-size: invalid size '-4K'"),
    usage("fifo-recv", ["--ready-fd", "1", "p"], "--ready-fd: 1 must be 3 or more"),
    usage("fifo-recv", ["--ready-fd", "77", "p"], "--ready-fd: 77 is not an open file descriptor"),
    usage("mkfifo-cat", ["--ready-fd", ARABIC5, "p"], f"--ready-fd: invalid file descriptor '{ARABIC5}'"),
    usage("mkfifo-cat", ["--ready-fd", "+3", "p"], "--ready-fd: invalid file descriptor '+3'"),
    usage("fifo-send", ["p", "two\nlines"], "message contains a newline"),
    failure("fifo-send", ["--timeout", "0.1", "missing", "x"], "'missing' did not appear within 0.1s", code=124),
]


def populate(directory: Path) -> None:
    """What each case finds in its directory."""
    (directory / "out.txt").write_text("keep\n")
    (directory / "in.txt").write_text("data\n")
    (directory / "bad.pid").write_text("nope\n")
    (directory / "empty.pid").write_text("")
    (directory / "d").mkdir()
    (directory / "d" / "inner").write_text("inner\n")
    os.mkfifo(directory / "p")


def snapshot(directory: Path) -> dict:
    """Every entry under directory: type and mode, size, mtime, inode, content."""
    entries = {}
    for dirpath, dirnames, filenames in os.walk(directory):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            info = os.lstat(path)
            content = Path(path).read_bytes() if stat.S_ISREG(info.st_mode) else None
            entries[os.path.relpath(path, directory)] = (info.st_mode, info.st_size, info.st_mtime_ns,
                                                         info.st_ino, content)
    return entries


def session_members(sid: int) -> list[tuple[int, str]]:
    """(pid, name) of every process whose session is sid."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            text = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2:].split()
        if int(fields[3]) == sid:
            found.append((int(entry), text[text.index("(") + 1:text.rindex(")")]))
    return found


def run_case(case: Case, base: Path, programs: dict, target_pid: int) -> dict:
    directory = Path(tempfile.mkdtemp(dir=base))
    populate(directory)
    before = snapshot(directory)
    argv = [programs[case.prog], *(arg.replace("{pid}", str(target_pid)) for arg in case.args)]
    if case.stdout == "closed":  # bash closes fd 1 and execs: the command is still the session leader
        argv = ["bash", "-c", 'exec "$@" >&-', "bash", *argv]
    stdout = open("/dev/full", "wb") if case.stdout == "full" else subprocess.PIPE
    proc = subprocess.Popen(argv, cwd=directory, stdin=subprocess.DEVNULL,
                            stdout=stdout, stderr=subprocess.PIPE, env=ENV, start_new_session=True)
    hung = False
    try:
        out, err = proc.communicate(timeout=CASE_TIMEOUT)
    except subprocess.TimeoutExpired:
        hung = True
        os.killpg(proc.pid, signal.SIGKILL)  # its own session's group: pgid == pid
        out, err = proc.communicate()
    finally:
        if case.stdout == "full":
            stdout.close()
    # What it left may still be on its way out (an orphan being reaped): wait a little.
    deadline = time.monotonic() + 3
    left = session_members(proc.pid)
    while left and time.monotonic() < deadline:
        time.sleep(0.01)
        left = session_members(proc.pid)
    for pid, _ in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return {"code": proc.returncode, "stdout": out or b"", "stderr": err, "hung": hung, "left": left,
            "changed": _differences(before, snapshot(directory))}


def _differences(before: dict, after: dict) -> list[str]:
    changes = [f"created {name}" for name in after.keys() - before.keys()]
    changes += [f"removed {name}" for name in before.keys() - after.keys()]
    changes += [f"changed {name}" for name in before.keys() & after.keys() if before[name] != after[name]]
    return sorted(changes)


@pytest.fixture(scope="module")
def target():
    """A process that no case may signal: every case that names a pid names it."""
    proc = subprocess.Popen(["sleep", "600"], stdin=subprocess.DEVNULL)
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait(10)


@pytest.fixture(scope="module")
def results(target, tmp_path_factory):
    programs = {prog: script(prog) for prog in MODULES}
    base = tmp_path_factory.mktemp("bad-inputs")
    with ThreadPoolExecutor(max_workers=4) as pool:  # modest: the machine is shared
        futures = {case.id: pool.submit(run_case, case, base, programs, target.pid) for case in CASES}
        return {case_id: future.result() for case_id, future in futures.items()}


# The cases issue 12 lists (and issue 11's sigsend hints), as written there.
ISSUE_CASES = [
    ["pipe-run", "-o", "out.txt", "--report", "text", "--report-file", "/nonexistent/r", "echo hi"],
    ["sigsend", "0", "--pidfile", "p"],
    ["reap-watch", "-o", "/dev/full", "true"],
    ["sigsend", "-l", SUPER2], ["sigsend", SUPER2, "{pid}"], ["sigsend", f"RTMIN+{SUPER2}", "{pid}"],
    ["sigsend", "--wait", "0.2", "--escalate", SUPER2, "0", "{pid}"],
    ["pipe-run", "--timeout", "0.2", "-s", SUPER2, "sleep 5"],
    ["alarm-wait", "-s", SUPER2, "0.2", "--", "sleep", "5"], ["alarm-wait", "--until", SUPER2, "0.2"],
    ["reap-watch", "--pid", "+5"], ["reap-watch", "--pid", " 5"], ["reap-watch", "--pid", ARABIC5],
    ["reap-watch", "--pid", " 4000000", "--timeout", "0.2"], ["sigsend", "-l", ARABIC15],
    ["sigsend", "TERM", "-1"], ["sigsend", "-1", "{pid}"], ["sigsend", "-TERM", "{pid}"],
]


def test_every_case_the_issues_list_is_in_the_table():
    table = [[case.prog, *case.args] for case in CASES]
    assert [case for case in ISSUE_CASES if case not in table] == []


def test_the_table_is_large_and_covers_every_command():
    assert len(CASES) >= 100
    assert len({case.id for case in CASES}) == len(CASES), "duplicate cases"
    assert {case.prog for case in CASES} == set(MODULES)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input_is_clean(case, results, target):
    result = results[case.id]
    err = result["stderr"].decode("utf-8", "replace")
    documented = [code for code, _ in importlib.import_module(f"pyipc.commands.{MODULES[case.prog]}").MANUAL["exit_status"]]
    assert str(case.code) in documented, f"{case.prog}(1) does not document exit {case.code}: {documented}"
    assert not result["hung"], f"still running after {CASE_TIMEOUT}s; stderr: {err!r}"
    assert result["code"] == case.code, f"exit {result['code']}, stderr: {err!r}"
    lines = err.splitlines()
    expected_lines = 2 if case.usage else 1
    assert len(lines) == expected_lines and err.endswith("\n"), f"stderr is not {expected_lines} line(s): {err!r}"
    assert lines[0].startswith(f"{case.prog}: "), lines[0]
    assert "internal error" not in lines[0] and "Traceback" not in err, err
    needle = case.needle.replace("{pid}", str(target.pid))
    assert needle in lines[0], (needle, lines[0])
    if case.usage:
        assert lines[1] == f"Try '{case.prog} --help' for more information."
    assert result["stdout"] == b"", result["stdout"][:200]
    assert result["changed"] == [], result["changed"]
    assert result["left"] == [], f"left running in its session: {result['left']}"


def test_no_case_signalled_the_target(results, target):
    assert results and alive(target.pid) and target.poll() is None
