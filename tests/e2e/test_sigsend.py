"""sigsend end to end: the installed console script, helpers that report which
signal arrived, process groups, pidfiles, --wait/--escalate, exit codes.

-1 is only ever sent inside a fresh PID namespace (unshare), never here."""

import os
import shutil
import signal
import subprocess
import sysconfig
import tempfile
import textwrap

import pytest

from conftest import PYTHON, ROOT, alive, proc_stat, run, script

SIGSEND = script("sigsend")

# Blocks every catchable signal and reports each one taken with sigwaitinfo:
# "GOT <signo> <si_code> <si_value.sival_int>". Python's siginfo lacks si_value,
# so the raw siginfo_t is read through ctypes (x86_64/aarch64 layout).
HELPER = textwrap.dedent("""
    import ctypes, os, sys
    libc = ctypes.CDLL(None, use_errno=True)
    sigset = (ctypes.c_ubyte * 128)()
    libc.sigemptyset(sigset)
    for signo in range(1, 65):
        if signo not in (9, 19):
            libc.sigaddset(sigset, signo)  # 32, 33 are glibc's own: refused, fine
    libc.sigprocmask(0, sigset, None)      # SIG_BLOCK
    print("READY", os.getpid(), flush=True)
    info = (ctypes.c_ubyte * 128)()
    while True:
        signo = libc.sigwaitinfo(sigset, info)
        if signo > 0:
            code = int.from_bytes(bytes(info[8:12]), "little", signed=True)
            value = int.from_bytes(bytes(info[24:28]), "little", signed=True)
            print("GOT", signo, code, value, flush=True)
""")

# Exits when TERM arrives (default action), after saying it is ready.
PLAIN = "import time; print('READY', flush=True); time.sleep(60)"
# Ignores TERM, so only an escalation ends it.
STUBBORN = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('READY', flush=True); time.sleep(60)"


class Helper:
    def __init__(self, janitor, path, **popen):
        self.proc = janitor.popen([PYTHON, str(path)], stdout=subprocess.PIPE, text=True, **popen)
        line = self.proc.stdout.readline()
        assert line.startswith("READY"), line
        self.pid = self.proc.pid

    def next_signal(self):
        """(signo, si_code, value) of the next signal the helper took."""
        line = self.proc.stdout.readline()
        assert line.startswith("GOT"), line
        return tuple(int(x) for x in line.split()[1:])


@pytest.fixture
def helper_file(in_tmp):
    path = in_tmp / "helper.py"
    path.write_text(HELPER)
    return path


def start(janitor, code, **popen):
    proc = janitor.popen([PYTHON, "-c", code], stdout=subprocess.PIPE, text=True, **popen)
    assert proc.stdout.readline().strip() == "READY"
    return proc


SPELLINGS = [
    ("TERM", signal.SIGTERM), ("SIGTERM", signal.SIGTERM), ("sigterm", signal.SIGTERM), ("Term", signal.SIGTERM),
    ("15", signal.SIGTERM), ("usr1", signal.SIGUSR1), ("SIGUSR2", signal.SIGUSR2), ("1", signal.SIGHUP),
    ("INT", signal.SIGINT), ("cld", signal.SIGCHLD), ("IOT", signal.SIGABRT), ("WINCH", signal.SIGWINCH),
    ("RTMIN", signal.SIGRTMIN), ("RTMIN+3", signal.SIGRTMIN + 3), ("sigrtmin+1", signal.SIGRTMIN + 1),
    ("RTMAX", signal.SIGRTMAX), ("RTMAX-1", signal.SIGRTMAX - 1), ("SIGRTMAX-5", signal.SIGRTMAX - 5),
    ("34", 34), ("64", 64),
]


@pytest.mark.timeout(60)
def test_every_signal_spelling_reaches_the_helper(helper_file, janitor):
    helper = Helper(janitor, helper_file)
    for spelling, expected in SPELLINGS:
        result = run([SIGSEND, spelling, str(helper.pid)])
        assert result.returncode == 0, (spelling, result.stderr)
        signo, code, _ = helper.next_signal()
        assert (spelling, signo, code) == (spelling, expected, 0)  # SI_USER: kill(2)


def test_signal_zero_only_checks(helper_file, janitor):
    helper = Helper(janitor, helper_file)
    assert run([SIGSEND, "0", str(helper.pid)]).returncode == 0
    # Nothing arrived for 0: the next signal the helper sees is the USR2 sent after it.
    assert run([SIGSEND, "USR2", str(helper.pid)]).returncode == 0
    assert helper.next_signal()[0] == signal.SIGUSR2
    gone = janitor.popen(["true"])
    gone.wait()
    result = run([SIGSEND, "0", str(gone.pid)])
    assert result.returncode == 1
    assert result.stderr.decode() == f"sigsend: cannot signal {gone.pid}: No such process\n"


def test_a_process_group_is_signalled_as_a_whole(helper_file, janitor):
    leader = Helper(janitor, helper_file, process_group=0)
    members = [Helper(janitor, helper_file, process_group=leader.pid) for _ in range(2)]
    outsider = Helper(janitor, helper_file)
    assert all(proc_stat(h.pid)[3] == leader.pid for h in [leader, *members])
    result = run([SIGSEND, "USR1", "--", f"-{leader.pid}"])
    assert result.returncode == 0, result.stderr
    assert [h.next_signal()[0] for h in [leader, *members]] == [signal.SIGUSR1] * 3
    run([SIGSEND, "HUP", str(outsider.pid)])
    assert outsider.next_signal()[0] == signal.SIGHUP  # it never got the USR1


def test_target_zero_is_our_own_process_group(helper_file, janitor):
    leader = Helper(janitor, helper_file, process_group=0)
    # sigsend joins the helper's group; TERM would end sigsend too, but it survives to report.
    proc = janitor.popen([SIGSEND, "TERM", "0"], process_group=leader.pid, stderr=subprocess.PIPE)
    assert proc.wait(timeout=30) == 0, proc.stderr.read()
    assert leader.next_signal()[0] == signal.SIGTERM


def test_a_negative_pid_before_dashdash_is_refused_with_a_hint(helper_file, janitor):
    """Each hint writes the user's own command the way sigsend takes it, and
    never points to a form that means something else (-- -1 is every
    process, not a group)."""
    helper = Helper(janitor, helper_file)
    pid = str(helper.pid)
    for args, word, hint in (
        (["-9", pid], "-9", f"a signal is written without a dash: sigsend 9 {pid}"),
        (["-1", pid], "-1", f"a signal is written without a dash: sigsend 1 {pid}"),
        (["-TERM", pid], "-TERM", f"a signal is written without a dash: sigsend TERM {pid}"),
        (["TERM", f"-{pid}"], f"-{pid}", f"a process group is written after --: sigsend TERM -- -{pid}"),
        (["TERM", "-1"], "-1",
         "-1, every process you may signal, is written after -- and needs --all: sigsend --all TERM -- -1"),
        (["-s", "TERM", f"-{pid}"], f"-{pid}", f"a process group is written after --: sigsend -s TERM -- -{pid}"),
        ([pid, "-TERM"], "-TERM", f"a signal is written once, without a dash, before the targets: sigsend TERM {pid}"),
    ):
        result = run([SIGSEND, *args])
        assert result.returncode == 2, args
        assert result.stderr.decode().splitlines() == [f"sigsend: no such option: {word} ({hint})",
                                                       "Try 'sigsend --help' for more information."], args
    run([SIGSEND, "USR2", pid])
    assert helper.next_signal()[0] == signal.SIGUSR2  # nothing else reached it


def test_signal_given_with_s_as_util_linux_kill_takes_it(helper_file, janitor):
    helper = Helper(janitor, helper_file)
    for args, signum in ((["-s", "USR1", str(helper.pid)], signal.SIGUSR1),
                         (["--signal", "USR2", str(helper.pid)], signal.SIGUSR2),
                         (["--signal=HUP", str(helper.pid)], signal.SIGHUP)):
        result = run([SIGSEND, *args])
        assert result.returncode == 0, (args, result.stderr)
        assert helper.next_signal()[0] == signum


def test_escalation_says_what_it_sends(janitor, in_tmp):
    stubborn = start(janitor, STUBBORN)
    result = run([SIGSEND, "--wait", "0.3", "--escalate", "KILL", "TERM", str(stubborn.pid)])
    assert result.returncode == 0, result.stderr
    assert result.stderr.decode() == f"sigsend: {stubborn.pid} is still running after --wait 0.3: sending KILL\n"
    assert stubborn.wait(timeout=10) == -signal.SIGKILL


needs_namespaces = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("unshare") is None, reason="needs root and unshare for a PID namespace")


def in_pid_namespace(shell_code):
    # Inside, sh is pid 1 and sees only its own children: -1 can reach nothing else.
    return run(["unshare", "--pid", "--fork", "--mount-proc", "sh", "-c", shell_code],
               env={**os.environ, "SIGSEND": SIGSEND})


@needs_namespaces
def test_minus_one_is_refused_without_all_in_a_pid_namespace(in_tmp):
    result = in_pid_namespace(
        'sleep 60 & a=$!; "$SIGSEND" KILL -- -1; echo "rc $?"; '
        'if kill -0 $a; then echo "alive"; fi; kill -KILL $a; wait $a')
    assert result.stdout.decode().split("\n")[:2] == ["rc 2", "alive"], result.stderr
    assert "refusing to signal -1" in result.stderr.decode()


@needs_namespaces
def test_minus_one_with_all_signals_everyone_in_a_pid_namespace(in_tmp):
    result = in_pid_namespace('sleep 60 & a=$!; sleep 60 & b=$!; "$SIGSEND" --all KILL -- -1; echo "rc $?"; '
                              'wait $a; echo "a $?"; wait $b; echo "b $?"')
    assert result.stdout.decode().split() == ["rc", "0", "a", "137", "b", "137"], result.stderr


def test_exit_codes_some_failed_and_all_failed(helper_file, janitor):
    helper = Helper(janitor, helper_file)
    gone = janitor.popen(["true"])
    gone.wait()
    some = run([SIGSEND, "USR1", str(helper.pid), str(gone.pid)])
    assert some.returncode == 64
    assert some.stderr.decode() == f"sigsend: cannot send USR1 to {gone.pid}: No such process\n"
    assert helper.next_signal()[0] == signal.SIGUSR1
    assert run([SIGSEND, "USR1", str(gone.pid), str(gone.pid)]).returncode == 1


def readable_sigsend(dest):
    """Copy pyipc and every package that sigsend imports into dest, and return
    the argv that runs sigsend from there. A user who is not root cannot reach
    a checkout (and its .venv) inside a private directory (mode 0700, as a home
    directory is), wherever the tests were cloned."""
    # typer too: a run that hands its argv over to Typer (a usage error) needs it
    listing = ("import sys, pyipc.commands.sigsend, typer\n"
               "print('\\n'.join(sorted({m.__file__ for m in list(sys.modules.values())"
               " if getattr(m, '__file__', None)})))")
    files = run([PYTHON, "-c", listing]).stdout.decode().split("\n")
    bases = [str(ROOT), *{sysconfig.get_paths()[k] for k in ("purelib", "platlib")}]
    tops = {}
    for path in files:
        for base in bases:
            if path.startswith(base + os.sep):
                top = path[len(base) + 1:].split(os.sep)[0]
                if not top.startswith(("__editable__", "_distutils_hack")):
                    tops[top] = os.path.join(base, top)
    assert "pyipc" in tops and "typer" in tops, tops
    for top, source in tops.items():
        if os.path.isdir(source):
            shutil.copytree(source, os.path.join(dest, top), ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, dest)
    os.chmod(dest, 0o755)
    code = f"import sys; sys.path.insert(0, {dest!r}); from pyipc.commands.sigsend import main; main()"
    return [os.path.realpath(PYTHON), "-S", "-c", code]


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None, reason="needs root to drop to nobody")
def test_operation_not_permitted_names_the_pid(in_tmp):
    # As nobody. Run from a world-readable copy, not from the checkout: the
    # test failed from a clone inside a mode-0700 directory (python exited 2).
    dest = tempfile.mkdtemp(prefix="pyipc-nobody-")
    try:
        sigsend = readable_sigsend(dest)
        result = run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *sigsend, "0", "1"], cwd=dest)
    finally:
        shutil.rmtree(dest)
    assert result.returncode == 1, result.stderr
    assert result.stderr.decode() == "sigsend: cannot signal 1: Operation not permitted\n"


@pytest.mark.parametrize("args, needle", [
    (["FOO", "1"], "unknown signal 'FOO'; valid signals: HUP, INT"),
    (["65", "1"], "invalid signal number '65'"),
    (["100", "1"], "invalid signal number '100'"),
    (["RTMAX+1", "1"], "invalid signal 'RTMAX+1'"),
    (["RTMIN-1", "1"], "invalid signal 'RTMIN-1'"),
    (["TERM", "abc"], "invalid target 'abc'"),
    (["TERM", "12x"], "invalid target '12x'"),
    (["TERM", "0x10"], "invalid target '0x10'"),
    (["TERM", " 7"], "invalid target ' 7'"),
    (["TERM"], "missing TARGET"),
    ([], "missing SIGNAL"),
    (["--wait", "x", "TERM", "1"], "--wait: invalid duration 'x'"),
    (["--escalate", "KILL", "TERM", "1"], "--escalate needs --wait"),
    (["--queue", "1.5", "USR1", "1"], "--queue: invalid value '1.5'"),
    (["--queue", "7", "USR1", "--", "-5"], "--queue sends to single processes only"),
    (["--bogus", "TERM", "1"], "no such option: --bogus"),
])
def test_usage_errors_exit_2_with_one_line_naming_the_problem(args, needle, in_tmp):
    result = run([SIGSEND, *args])
    lines = result.stderr.decode().splitlines()
    assert result.returncode == 2
    assert lines[0].startswith("sigsend: ") and needle in lines[0], lines
    assert lines[1:] == ["Try 'sigsend --help' for more information."]
    assert "Traceback" not in result.stderr.decode()


def test_pidfile(helper_file, janitor, in_tmp):
    helper = Helper(janitor, helper_file)
    (in_tmp / "good.pid").write_text(f"{helper.pid}\n")
    assert run([SIGSEND, "USR1", "--pidfile", "good.pid"]).returncode == 0
    assert helper.next_signal()[0] == signal.SIGUSR1
    (in_tmp / "bad.pid").write_text("not a pid\n")
    (in_tmp / "empty.pid").write_text("")
    for pidfile, message in (("bad.pid", "sigsend: pidfile 'bad.pid' holds no pid (found 'not a pid')"),
                             ("empty.pid", "sigsend: pidfile 'empty.pid' holds no pid (empty)"),
                             ("missing.pid", "sigsend: cannot read pidfile 'missing.pid': No such file or directory")):
        # A good target on the command line gets nothing either: nothing is sent.
        result = run([SIGSEND, "USR2", str(helper.pid), "--pidfile", pidfile])
        assert result.returncode == 1
        assert result.stderr.decode().splitlines() == [message]
    run([SIGSEND, "HUP", str(helper.pid)])
    assert helper.next_signal()[0] == signal.SIGHUP


def test_list_and_name_lookups(in_tmp):
    listing = run([SIGSEND, "-l"]).stdout.decode().splitlines()
    assert listing[0] == "1 HUP" and "15 TERM" in listing and "34 RTMIN" in listing
    assert "37 RTMIN+3" in listing and "63 RTMAX-1" in listing and listing[-1] == "64 RTMAX"
    for arg, expected in (("143", "TERM"), ("9", "KILL"), ("137", "KILL"), ("TERM", "15"), ("sigrtmin+2", "36")):
        result = run([SIGSEND, "-l", arg])
        assert (arg, result.returncode, result.stdout.decode()) == (arg, 0, expected + "\n")
    assert run([SIGSEND, "-l", "500"]).returncode == 2


def test_queue_sends_the_value_with_sigqueue(helper_file, janitor):
    helper = Helper(janitor, helper_file)
    assert run([SIGSEND, "--queue", "42", "RTMIN+1", str(helper.pid)]).returncode == 0
    assert helper.next_signal() == (signal.SIGRTMIN + 1, -1, 42)  # si_code SI_QUEUE
    assert run([SIGSEND, "--queue", "-7", "USR1", str(helper.pid)]).returncode == 0
    assert helper.next_signal() == (signal.SIGUSR1, -1, -7)


def test_wait_until_the_target_is_gone(janitor, in_tmp):
    proc = start(janitor, PLAIN)
    result = run([SIGSEND, "--wait", "30", "TERM", str(proc.pid)])
    assert result.returncode == 0, result.stderr
    # It is gone (a zombie until we reap it), not merely signalled.
    assert not alive(proc.pid)
    assert proc.wait(timeout=10) == -signal.SIGTERM


def test_wait_without_escalation_reports_survivors_with_124(janitor, in_tmp):
    proc = start(janitor, STUBBORN)
    result = run([SIGSEND, "--wait", "0.3", "TERM", str(proc.pid)])
    assert result.returncode == 124
    assert result.stderr.decode() == f"sigsend: {proc.pid} is still running after --wait 0.3\n"
    assert alive(proc.pid)


def test_wait_escalate_kills_a_helper_that_ignores_term(janitor, in_tmp):
    stubborn = start(janitor, STUBBORN)
    plain = start(janitor, PLAIN)
    result = run([SIGSEND, "--wait", "0.5", "--escalate", "KILL", "TERM", str(stubborn.pid), str(plain.pid)])
    assert result.returncode == 0, result.stderr
    assert stubborn.wait(timeout=10) == -signal.SIGKILL
    assert plain.wait(timeout=10) == -signal.SIGTERM


def test_wait_for_a_process_group(janitor, in_tmp):
    leader = start(janitor, PLAIN, process_group=0)
    member = start(janitor, STUBBORN, process_group=leader.pid)
    result = run([SIGSEND, "--wait", "0.3", "--escalate", "KILL", "TERM", "--", f"-{leader.pid}"])
    assert result.returncode == 0, result.stderr
    assert leader.wait(timeout=10) == -signal.SIGTERM
    assert member.wait(timeout=10) == -signal.SIGKILL


def test_wait_reports_a_missing_target_and_waits_for_the_rest(janitor, in_tmp):
    proc = start(janitor, PLAIN)
    gone = janitor.popen(["true"])
    gone.wait()
    result = run([SIGSEND, "--wait", "30", "TERM", str(proc.pid), str(gone.pid)])
    assert result.returncode == 64
    assert f"{gone.pid}: No such process" in result.stderr.decode()
    assert proc.wait(timeout=10) == -signal.SIGTERM
