"""Library tests of pyipc.deadlines: alarms, ticks and the timeout-style Deadline.

wait_alarm and tick arm ITIMER_REAL, which pytest-timeout's signal method uses
too, and a timer thread (its thread method) could take a process-directed
signal that the main thread blocks: so those tests run in a fresh Python, with
one thread and no pytest timer. The Deadline tests run in-process."""

import signal
import sys
import textwrap

import pytest

from conftest import ROOT, run
from pyipc.deadlines import Deadline
from pyipc.errors import SpawnError

PRELUDE = """
import os, signal
from pyipc.deadlines import ALARM, COUNT, UNTIL, tick, wait_alarm
def mask():
    return signal.pthread_sigmask(signal.SIG_BLOCK, [])
"""


def in_fresh_python(body):
    """Run body (plain asserts) in a new interpreter; fail with its stderr."""
    code = PRELUDE + textwrap.dedent(body) + "\nprint('OK')\n"
    result = run([sys.executable, "-c", code], cwd=ROOT)
    assert (result.returncode, result.stdout) == (0, b"OK\n"), result.stderr.decode()


def test_wait_alarm_fires_and_leaves_the_mask_and_timer_as_they_were():
    in_fresh_python("""
        before = mask()
        assert wait_alarm(0.05) == ALARM
        assert wait_alarm(0) == ALARM
        assert mask() == before
        assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    """)


def test_wait_alarm_until_a_signal_already_pending():
    # Sent before the wait began: with blocked signals it is not lost (the pause() race).
    in_fresh_python("""
        signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR1])
        os.kill(os.getpid(), signal.SIGUSR1)
        assert wait_alarm(30, until=signal.SIGUSR1) == UNTIL
        assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
        assert wait_alarm(0.05, until=signal.SIGUSR1) == ALARM
    """)


def test_tick_counts_and_stops_at_the_deadline():
    in_fresh_python("""
        seen = []
        assert tick(0.02, seen.append, count=4) == COUNT
        assert seen == [1, 2, 3, 4]
        seen.clear()
        assert tick(0.05, seen.append, seconds=0.12) == ALARM
        assert seen == [1, 2]
        seen.clear()
        assert tick(0.05, seen.append, seconds=0.15) == ALARM  # a tick due at the deadline still happens
        assert seen == [1, 2, 3]
        seen.clear()
        assert tick(0.05, seen.append, count=0) == COUNT and seen == []
        assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    """)


def test_tick_until():
    in_fresh_python("""
        signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR2])
        os.kill(os.getpid(), signal.SIGUSR2)
        seen = []
        assert tick(10, seen.append, until=signal.SIGUSR2) == UNTIL and seen == []
        try:
            tick(0, print)
        except ValueError:
            pass
        else:
            raise AssertionError("tick(0) accepted")
    """)


def mask():
    return signal.pthread_sigmask(signal.SIG_BLOCK, [])


def test_deadline_statuses():
    ok = Deadline(["true"], 10).run()
    assert (ok.exit.exit_code, ok.timed_out, ok.status()) == (0, False, 0)
    late = Deadline(["sleep", "30"], 0.1).run()
    assert late.timed_out and late.exit.signal == signal.SIGTERM
    assert (late.status(), late.status(preserve_status=True)) == (124, 143)
    killed = Deadline(["sleep", "30"], 0.1, signum=signal.SIGKILL).run()
    assert killed.status() == 137
    # Race-free: the command inherits our mask with TERM blocked, so it cannot
    # act on the deadline's TERM however late it starts (KILL ends it).
    old = signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGTERM])
    try:
        stubborn = Deadline(["sleep", "30"], 0.3, kill_after=0.1).run()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)
    assert stubborn.killed and stubborn.status() == 137


def test_deadline_tells_what_it_sends_and_restores_the_mask():
    before = mask()
    sent = []
    Deadline(["sleep", "30"], 0.1, signum=signal.SIGINT, on_send=lambda s, why: sent.append((s, why))).run()
    assert sent == [(signal.SIGINT, "deadline")]
    assert mask() == before


def test_deadline_spawn_errors_leave_nothing_behind():
    before = mask()
    with pytest.raises(SpawnError) as info:
        Deadline(["no-such-command-pyipc"], 1).run()
    assert info.value.exit_status == 127
    assert mask() == before


def test_deadline_works_with_sigchld_ignored():
    old = signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    try:
        result = Deadline(["sh", "-c", "exit 5"], 10).run()
        assert result.status() == 5
        assert signal.getsignal(signal.SIGCHLD) == signal.SIG_IGN
    finally:
        signal.signal(signal.SIGCHLD, old)


def test_deadline_zero_means_no_deadline():
    result = Deadline(["sh", "-c", "sleep 0.2; exit 4"], 0).run()
    assert (result.timed_out, result.status()) == (False, 4)


def test_deadline_a_signal_pending_when_command_is_reaped_is_dropped():
    # COMMAND signals us and exits; the wait starts only once it is a zombie,
    # so waitpid finds it gone with the signal still pending. alarm-wait then
    # exits with COMMAND's status, as coreutils timeout does: restoring the
    # mask must not deliver the stale SIGTERM (which would kill the helper).
    helper = textwrap.dedent("""
        import signal, time
        from pyipc.deadlines import Deadline
        class Settled(Deadline):
            def _wait(self, *args):
                while open(f"/proc/{self.pid}/stat").read().rsplit(")", 1)[1].split()[0] != "Z":
                    time.sleep(0.001)
                return super()._wait(*args)
        result = Settled(["sh", "-c", "kill -TERM $PPID; exit 3"], 10).run()
        print(result.status(), sorted(signal.sigpending()))
    """)
    got = run([sys.executable, "-c", helper], cwd=ROOT, timeout=20)
    assert (got.returncode, got.stdout) == (0, b"3 []\n"), got.stderr
