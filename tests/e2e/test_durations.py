"""Durations as every command takes them (pyipc.durations): what strtod
reads, as coreutils timeout does. Exponents, hex floats and inf work; a
positive duration too small to represent still runs out at once instead of
becoming 0 (no deadline); alarm-wait -s 0 is taken as coreutils timeout -s 0."""

import os

import pytest

from conftest import ENV, run, script


@pytest.mark.timeout(30)
@pytest.mark.parametrize("duration", ["1e3", "2.34e+5d", "inf", "INFINITY", "0x10", "1e400", "+5"])
def test_long_durations_in_every_spelling_let_the_command_finish(duration):
    result = run([script("alarm-wait"), duration, "--", "true"], env=ENV)
    assert (result.returncode, result.stderr) == (0, b"")


@pytest.mark.timeout(30)
@pytest.mark.parametrize("duration", ["1e-10000", "0x1p-99999", "1e-12"])
def test_a_positive_duration_too_small_to_represent_still_times_out(duration, janitor):
    """strtod gives 0 for 1e-10000; 0 would mean no deadline and run for ever."""
    assert run([script("alarm-wait"), duration, "--", "sleep", "20"], env=ENV).returncode == 124
    assert run([script("pipe-run"), "--timeout", duration, "sleep 20"], env=ENV).returncode == 124
    assert run([script("alarm-wait"), "--until", "USR1", duration], env=ENV).returncode == 124
    sleeper = janitor.popen(["sleep", "20"])
    assert run([script("reap-watch"), "--pid", str(sleeper.pid), "--timeout", duration], env=ENV).returncode == 124
    assert run([script("sigsend"), "--wait", duration, "0", str(sleeper.pid)], env=ENV).returncode == 124
    assert sleeper.poll() is None  # signal 0 only checked it


@pytest.mark.timeout(30)
def test_fifo_commands_take_the_same_durations(in_tmp):
    os.mkfifo("p")
    for command in (["fifo-recv", "--timeout", "1e-10000", "p"], ["fifo-send", "--timeout", "1e-10000", "p", "x"],
                    ["mkfifo-cat", "--timeout", "1e-10000", "p"]):
        result = run([script(command[0]), *command[1:]], env=ENV)
        assert result.returncode == 124, (command, result.stderr)


@pytest.mark.timeout(30)
def test_alarm_wait_takes_signal_0_as_coreutils_timeout_does():
    """-s 0: nothing is sent at the deadline; --kill-after's KILL ends it (137)."""
    result = run([script("alarm-wait"), "-v", "-s", "0", "-k", "1", ".1", "--", "sleep", "10"], env=ENV)
    assert result.returncode == 137, result.stderr
    assert result.stderr.decode().splitlines() == ["alarm-wait: sending signal 0 to command 'sleep'",
                                                   "alarm-wait: sending signal KILL to command 'sleep'"]
    assert run([script("alarm-wait"), "-s", "0", "5", "--", "true"], env=ENV).returncode == 0
