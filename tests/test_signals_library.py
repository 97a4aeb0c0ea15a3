"""Library tests: signal names (pyipc.signames) and sending/waiting (pyipc.sending)."""

import errno
import os
import signal
import subprocess
import sys

import pytest

from conftest import ROOT, alive, run
from pyipc.errors import UsageError
from pyipc.sending import EVERYONE, BadPidfile, Sender, Target, parse_target, read_pidfile, sigqueue
from pyipc.integers import InvalidNumber
from pyipc.signames import InvalidSignal, SignalProblem, catchable, list_signals, lookup, parse_signal


@pytest.mark.parametrize("spec, number", [
    ("TERM", 15), ("SIGTERM", 15), ("sigterm", 15), ("15", 15), ("KILL", 9),
    ("RTMIN", signal.SIGRTMIN), ("RTMIN+3", signal.SIGRTMIN + 3), ("rtmax-1", signal.SIGRTMAX - 1),
    ("SIGRTMAX", signal.SIGRTMAX), ("IOT", signal.SIGABRT), ("CLD", signal.SIGCHLD), ("64", 64),
])
def test_parse_signal_spellings(spec, number):
    assert parse_signal(spec) == number


@pytest.mark.parametrize("spec", ["0", "65", "100", "-15", "+15", "RTMAX+1", "RTMIN-1", "FOO", "", "SIG", "1.5",
                                  "RTMIN+31", "RTMIN+x", " term ", "TERM ", "1 5",
                                  # ASCII only: isdigit() takes these, int() takes the second, upper() maps the last two
                                  "\u00b2", "\u0661\u0665", "RTMIN+\u00b2", "1\u00b9", "\u017figterm", "s\u0131gterm",
                                  "9" * 5000])  # beyond int()'s own digit limit
def test_parse_signal_refuses(spec):
    with pytest.raises(UsageError):
        parse_signal(spec)


def test_zero_only_when_allowed():
    assert parse_signal("0", allow_zero=True) == 0


def test_list_and_lookup():
    table = dict(list_signals())
    assert table[1] == "HUP" and table[signal.SIGRTMIN] == "RTMIN" and table[signal.SIGRTMAX] == "RTMAX"
    assert 32 not in table and 33 not in table  # glibc's own, not in signal(7)'s list
    assert lookup("143") == "TERM" and lookup("15") == "TERM" and lookup("sigkill") == "9"
    assert lookup(str(128 + signal.SIGRTMIN + 1)) == "RTMIN+1"
    for bad in ("0", "32", "500", "nope", "\u00b2", "\u0661\u0665", " 15", "9" * 5000):
        with pytest.raises(UsageError):
            lookup(bad)
    assert not catchable(signal.SIGKILL) and not catchable(signal.SIGSTOP) and catchable(signal.SIGUSR1)


@pytest.mark.parametrize("text, pid, kind", [("4321", 4321, "process"), ("0", 0, "own process group"),
                                             ("-77", -77, "process group"), ("-1", EVERYONE, "every process")])
def test_parse_target(text, pid, kind):
    target = parse_target(text)
    assert (target.pid, target.kind) == (pid, kind)


@pytest.mark.parametrize("text", ["abc", "1.0", "0x10", " 1", "1 ", "+5", "--5", "", "99999999999", "\u0665", "1_0"])
def test_parse_target_refuses_everything_but_an_integer(text):
    with pytest.raises(UsageError):
        parse_target(text)


def test_read_pidfile(tmp_path):
    (tmp_path / "a").write_text("123\nignored\n")
    assert read_pidfile(str(tmp_path / "a")).pid == 123
    (tmp_path / "a").write_text(" 123 \n")  # a pidfile's white space is not part of the pid
    assert read_pidfile(str(tmp_path / "a")).pid == 123
    for content in ("", "\n", "abc", "-5", "0", "12 34", "+5", "\u0665", "99999999999"):
        (tmp_path / "b").write_text(content)
        with pytest.raises(BadPidfile) as caught:
            read_pidfile(str(tmp_path / "b"))
        assert caught.value.file_kind is None and caught.value.found == content.strip().encode()
    with pytest.raises(FileNotFoundError):
        read_pidfile(str(tmp_path / "missing"))


@pytest.mark.timeout(10)
def test_read_pidfile_refuses_what_is_not_a_regular_file_without_blocking(tmp_path):
    os.mkfifo(tmp_path / "fifo")  # open() of a FIFO with no writer used to hang forever
    for path, kind in ((tmp_path / "fifo", "a FIFO"), (tmp_path, "a directory"), ("/dev/null", "a character device")):
        with pytest.raises(BadPidfile) as caught:
            read_pidfile(str(path))
        assert (caught.value.path, caught.value.file_kind) == (str(path), kind)


def sleeper(janitor, code="import time; print('READY', flush=True); time.sleep(60)", **kwargs):
    proc = janitor.popen([sys.executable, "-c", code], stdout=subprocess.PIPE, **kwargs)
    assert proc.stdout.readline() == b"READY\n"
    return proc


def test_sender_waits_through_a_pidfd_and_a_zombie_counts_as_gone(janitor):
    proc = sleeper(janitor)
    sender = Sender([Target(proc.pid)], signal.SIGTERM, waiting=True)
    try:
        sender.prepare()
        assert sender.targets[0].pidfd is not None
        sender.send()
        # We are its parent and have not reaped it: it is a zombie, and gone.
        assert sender.wait(30) == []
        assert proc.poll() == -signal.SIGTERM
    finally:
        sender.close()


def test_sender_reports_survivors_and_escalates(janitor):
    code = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('READY', flush=True); time.sleep(60)"
    proc = sleeper(janitor, code)
    sender = Sender([Target(proc.pid)], signal.SIGTERM, waiting=True)
    try:
        sender.prepare()
        sender.send()
        assert [t.pid for t in sender.wait(0.2)] == [proc.pid]
        sender.send(signal.SIGKILL, only_survivors=True)
        assert sender.wait(30) == []
        assert proc.wait(timeout=10) == -signal.SIGKILL
    finally:
        sender.close()


def test_sender_records_errors_per_target(janitor):
    proc = sleeper(janitor)
    dead = subprocess.Popen(["true"])
    dead.wait()
    sender = Sender([Target(dead.pid), Target(proc.pid)], 0)
    sender.send()
    assert [t.pid for t in sender.failed] == [dead.pid] and isinstance(sender.failed[0].error, ProcessLookupError)
    assert [t.pid for t in sender.sent] == [proc.pid]
    assert alive(proc.pid)


def test_sender_waits_for_a_process_group(janitor):
    leader = sleeper(janitor, process_group=0)
    member = sleeper(janitor, process_group=leader.pid)
    sender = Sender([Target(-leader.pid)], signal.SIGTERM, waiting=True)
    sender.prepare()
    sender.send()
    assert sender.wait(30) == []
    assert leader.wait(timeout=10) == member.wait(timeout=10) == -signal.SIGTERM


def test_sigqueue_errors_and_checks():
    with pytest.raises(OSError) as info:
        sigqueue(2**22 + 12345, signal.SIGUSR1, 1)  # above pid_max: no such process
    assert info.value.errno == errno.ESRCH
    with pytest.raises(ValueError):
        sigqueue(0, signal.SIGUSR1, 1)
    with pytest.raises(ValueError):
        sigqueue(os.getpid(), signal.SIGUSR1, 2**31)


def test_sigqueue_delivers_its_value():
    # In a fresh Python: one thread, so the blocked signal can only wait for sigtimedwait.
    code = ("import os, signal; from pyipc.sending import sigqueue\n"
            "signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR2])\n"
            "sigqueue(os.getpid(), signal.SIGUSR2, 99)\n"
            "info = signal.sigtimedwait([signal.SIGUSR2], 10)\n"
            "print(info.si_signo, info.si_code)\n")
    result = run([sys.executable, "-c", code], cwd=ROOT)
    assert result.stdout.decode().split() == [str(int(signal.SIGUSR2)), "-1"], result.stderr  # SI_QUEUE


@pytest.mark.parametrize("spec, problem", [("\u00b2", SignalProblem.MALFORMED), (" TERM", SignalProblem.MALFORMED),
                                           ("FOO", SignalProblem.UNKNOWN_NAME), ("RTMIN+99", SignalProblem.REALTIME_RANGE)])
def test_signal_errors_carry_what_was_wrong(spec, problem):
    with pytest.raises(InvalidSignal) as caught:
        parse_signal(spec)
    assert (caught.value.text, caught.value.problem) == (spec, problem)
    with pytest.raises(InvalidNumber) as caught:
        parse_signal("65")
    assert (caught.value.kind, caught.value.high) == ("signal number", signal.NSIG - 1)


# -- the signal module without its enums (pyipc/_signals.py) ----------------------

def test_signal_names_are_those_of_signal_signals():
    from pyipc.status import _signal_names, signal_name

    assert _signal_names() == {sig.value: sig.name for sig in signal.Signals}
    for number in range(0, signal.NSIG + 2):
        try:
            expected = signal.Signals(number).name
        except ValueError:
            continue
        assert signal_name(number) == expected


def test_what_pyipc_uses_of_signal_is_in_the_c_module():
    """pyipc gives its modules _signal under the name signal, and type checkers
    see the signal module, which has more (Signals, Handlers, Sigmasks): every
    signal.NAME a module using pyipc._signals reads must exist in _signal."""
    import re

    import _signal

    checked = 0
    for path in sorted((ROOT / "pyipc").rglob("*.py")):
        text = path.read_text()
        if "_signals import signal" not in text or path.name == "_signals.py":
            continue
        checked += 1
        for name in sorted(set(re.findall(r"\bsignal\.([A-Za-z_]\w*)", text))):
            assert hasattr(_signal, name), f"{path.relative_to(ROOT)}: signal.{name} is not in _signal"
    assert checked >= 10


def test_the_library_enums_are_made_on_first_use_and_stay_the_same():
    code = ("import sys\n"
            "import pyipc.integers, pyipc.durations, pyipc.signames, pyipc.framing, pyipc.ready, pyipc.fifo\n"
            "assert 'enum' not in sys.modules and 'pyipc._enums' not in sys.modules, sorted(sys.modules)\n"
            "from pyipc.integers import Problem\n"
            "from pyipc.fifo import Problem as FifoProblem, Waited\n"
            "import pickle, pyipc.framing as f\n"
            "assert FifoProblem is f.Problem and Waited is pyipc.fifo.errors.Waited\n"
            "assert repr(Problem.OUT_OF_RANGE) == \"<Problem.OUT_OF_RANGE: 'out of range'>\"\n"
            "assert pickle.loads(pickle.dumps(Problem.OUT_OF_RANGE)) is Problem.OUT_OF_RANGE\n"
            "assert Problem.__module__ == 'pyipc.integers' and f.Problem.__qualname__ == 'Problem'\n"
            "try:\n"
            "    pyipc.integers.parse_pid('x')\n"
            "except pyipc.integers.InvalidNumber as exc:\n"
            "    assert exc.problem is Problem.NOT_A_NUMBER\n"
            "print('ok')\n")
    result = subprocess.run([sys.executable, "-S", "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=30,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.stdout == "ok\n", result.stderr
