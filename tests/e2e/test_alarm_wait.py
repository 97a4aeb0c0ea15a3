"""alarm-wait end to end: alarms, --until, ticks, and the coreutils timeout
behaviour with a COMMAND (exit codes, process groups, signals passed on,
Ctrl-C at a terminal via pexpect, nobody left behind)."""

import os
import signal
import subprocess

import pexpect
import pytest

from conftest import PYTHON, alive, descendants_of, proc_stat, proc_status, run, script, shell_status, wait_for

ALARM_WAIT = script("alarm-wait")
SIGSEND = script("sigsend")

STUBBORN = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('READY', flush=True); time.sleep(60)"


def blocks(pid, signum):
    """Whether signum sent to pid now can no longer be lost: it is blocked (it
    stays pending), or pid sits in sigtimedwait (which, while it waits, takes
    its signals out of SigBlk)."""
    mask = proc_status(pid).get("SigBlk")
    if mask is not None and int(mask, 16) & (1 << (signum - 1)):
        return True
    try:
        with open(f"/proc/{pid}/wchan") as handle:
            return handle.read().startswith("do_sigtimedwait")
    except OSError:
        return False


# -- no COMMAND ---------------------------------------------------------------

def test_zero_exits_at_once_and_a_duration_waits_for_the_alarm(in_tmp):
    assert run([ALARM_WAIT, "0"]).returncode == 0
    result = run([ALARM_WAIT, "0.2s"])
    assert (result.returncode, result.stdout, result.stderr) == (0, b"", b"")


def test_until_ends_on_the_signal(janitor, in_tmp):
    proc = janitor.popen([ALARM_WAIT, "--until", "USR1", "1m"], stderr=subprocess.PIPE)
    wait_for(lambda: blocks(proc.pid, signal.SIGUSR1), what="alarm-wait to block USR1")
    assert run([SIGSEND, "USR1", str(proc.pid)]).returncode == 0
    assert proc.wait(timeout=30) == 0, proc.stderr.read()


def test_until_a_signal_sent_before_the_wait_is_not_lost(janitor, in_tmp):
    # Already pending when the wait starts (the alarm()/pause() race): still counts.
    proc = janitor.popen([ALARM_WAIT, "--until", "rtmin+2", "0"], stderr=subprocess.PIPE)
    wait_for(lambda: blocks(proc.pid, signal.SIGRTMIN + 2), what="alarm-wait to block RTMIN+2")
    os.kill(proc.pid, signal.SIGRTMIN + 2)
    assert proc.wait(timeout=30) == 0


def test_until_exits_124_when_the_alarm_fires_first(in_tmp):
    assert run([ALARM_WAIT, "--until", "USR1", "0.2"]).returncode == 124


@pytest.mark.parametrize("args", [["--until", "KILL", "1"], ["--until", "STOP", "1"], ["--until", "ALRM", "1"],
                                  ["--until", "NOPE", "1"], ["--count", "2", "1"], ["--every", "0", "1"],
                                  ["--until", "USR1", "1", "--", "true"], ["1", "--"]])
def test_bad_combinations_are_usage_errors(args, in_tmp):
    result = run([ALARM_WAIT, *args])
    assert result.returncode == 125
    assert result.stderr.decode().startswith("alarm-wait: ")


def test_every_prints_numbered_ticks_until_count(in_tmp):
    result = run([ALARM_WAIT, "--every", "0.05", "--count", "3"])
    assert (result.returncode, result.stdout) == (0, b"tick 1\ntick 2\ntick 3\n")


def test_every_stops_at_the_duration(in_tmp):
    # 0.35 s holds three 0.1 s ticks; the fourth would be late.
    result = run([ALARM_WAIT, "--every", "0.1", "0.35"])
    assert (result.returncode, result.stdout) == (0, b"tick 1\ntick 2\ntick 3\n")


def test_every_with_until_ends_on_the_signal(janitor, in_tmp):
    proc = janitor.popen([ALARM_WAIT, "--every", "0.05", "--until", "USR2"], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline() == "tick 1\n"
    os.kill(proc.pid, signal.SIGUSR2)
    assert proc.wait(timeout=30) == 0


def test_every_into_a_closed_pipe_ends_like_yes(in_tmp):
    result = run(["sh", "-c", f"'{ALARM_WAIT}' --every 0.01 | head -n 2"])
    assert (result.returncode, result.stdout, result.stderr) == (0, b"tick 1\ntick 2\n", b"")


# -- with COMMAND: the coreutils timeout cases ----------------------------------

@pytest.mark.parametrize("args, status", [
    (["5", "--", "true"], 0),
    (["5", "sh", "-c", "exit 2"], 2),
    (["0.3", "--", "sleep", "30"], 124),
    (["--preserve-status", "0.3", "--", "sleep", "30"], 143),
    (["-s", "KILL", "0.3", "sleep", "30"], 137),
    (["0", "--", "sh", "-c", "exit 3"], 3),
    (["abc", "true"], 125),
    (["-1", "true"], 125),
    (["1x", "true"], 125),
    (["-s", "NOPE", "1", "true"], 125),
    (["-s", "65", "1", "true"], 125),
    (["-k", "x", "1", "true"], 125),
    (["--bogus", "1", "true"], 125),
    ([], 125),
    (["1", "/"], 126),
    (["1", "/etc/passwd/x"], 126),  # ENOTDIR: coreutils timeout and bash say 126 too
    (["1", "/no-such-dir-pyipc/x"], 127),
    (["1", "--", "no-such-command-pyipc"], 127),
])
def test_exit_status_like_coreutils_timeout(args, status, in_tmp):
    result = run([ALARM_WAIT, *args])
    assert result.returncode == status, result.stderr
    if status in (125, 126, 127):
        assert result.stderr.decode().startswith("alarm-wait: "), result.stderr
        assert b"Traceback" not in result.stderr


def test_kill_after_kills_a_command_that_does_not_end_on_term(in_tmp):
    # Race-free stubbornness: alarm-wait is started with TERM blocked, and the
    # command inherits that mask, so the deadline's TERM stays pending from the
    # first instant (a command that ignored TERM itself might not have done so
    # yet when a 0.3 s deadline came, under load).
    result = run([ALARM_WAIT, "-k", "0.3", "0.3", "--", "sleep", "30"],
                 preexec_fn=lambda: signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGTERM]))
    assert result.returncode == 137, result.stderr


def test_error_messages(in_tmp):
    assert run([ALARM_WAIT, "-1", "true"]).stderr.decode().splitlines()[0] == \
        "alarm-wait: invalid duration '-1': a duration cannot be negative"
    assert run([ALARM_WAIT, "1", "/"]).stderr.decode() == "alarm-wait: failed to run command '/': Is a directory\n"
    assert run([ALARM_WAIT, "1", "no-such-command-pyipc"]).stderr.decode() == \
        "alarm-wait: failed to run command 'no-such-command-pyipc': command not found\n"


def test_verbose_says_which_signal_was_sent(in_tmp):
    result = run([ALARM_WAIT, "-v", "-s", "INT", "0.2", "sleep", "30"])
    assert result.returncode == 124
    assert result.stderr.decode() == "alarm-wait: sending signal INT to command 'sleep'\n"


def test_the_commands_own_options_are_not_parsed(in_tmp):
    result = run([ALARM_WAIT, "5", "sh", "-c", "echo \"$@\"", "sh", "-v", "--help", "-s"])
    assert (result.returncode, result.stdout) == (0, b"-v --help -s\n")


def test_a_command_killed_by_a_signal_kills_alarm_wait_the_same_way(in_tmp):
    result = run([ALARM_WAIT, "5", "--", "sh", "-c", "kill -USR1 $$"])
    assert result.returncode == -signal.SIGUSR1


def test_the_command_leads_its_own_process_group_unless_foreground(janitor, in_tmp):
    for extra, own_group in (([], True), (["--foreground"], False)):
        proc = janitor.popen([ALARM_WAIT, *extra, "30", "--", PYTHON, "-c", STUBBORN], stdout=subprocess.PIPE)
        assert proc.stdout.readline() == b"READY\n"
        child = wait_for(lambda: descendants_of(proc.pid), what="the command")[0]
        assert (proc_stat(child)[3] == child) is own_group
        assert (proc_stat(child)[3] == proc_stat(proc.pid)[3]) is not own_group
        os.kill(child, signal.SIGKILL)
        # Killed by something else than the deadline: alarm-wait dies the same way.
        assert proc.wait(timeout=30) == -signal.SIGKILL


def test_nothing_outlives_a_timeout(in_tmp):
    # The deadline signal goes to the whole group: the background sleep dies too.
    result = run([ALARM_WAIT, "2", "--", "sh", "-c", "sleep 60 & echo $! > bg.pid; sleep 60"])
    assert result.returncode == 124
    background = int((in_tmp / "bg.pid").read_text())
    wait_for(lambda: not alive(background), what="the background sleep to be gone")


def test_nothing_outlives_kill_after(in_tmp):
    code = f"import subprocess, sys; subprocess.Popen([sys.executable, '-c', {STUBBORN!r}]); exec({STUBBORN!r})"
    proc = subprocess.Popen([ALARM_WAIT, "-k", "0.2", "1", "--", PYTHON, "-c", code], stdout=subprocess.PIPE)
    try:
        assert proc.stdout.readline() == b"READY\n"
        pids = descendants_of(proc.pid)
        assert proc.wait(timeout=30) == 137
        wait_for(lambda: not any(alive(p) for p in pids), what="every process of the group to be gone")
    finally:
        for pid in descendants_of(proc.pid):
            os.kill(pid, signal.SIGKILL)
        proc.wait(timeout=30)
        proc.stdout.close()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT, signal.SIGQUIT])
def test_term_int_hup_quit_are_passed_on_to_the_command(signum, janitor, in_tmp):
    # SIGQUIT too, as coreutils timeout does: left to its default action it
    # killed alarm-wait and left the command running in its own group.
    proc = janitor.popen([ALARM_WAIT, "30", "--", "sh", "-c", "echo READY; exec sleep 60"], stdout=subprocess.PIPE)
    assert proc.stdout.readline() == b"READY\n"
    child = descendants_of(proc.pid)[0]
    wait_for(lambda: proc_stat(child)[0] == "sleep", what="the exec of sleep")
    os.kill(proc.pid, signum)
    assert proc.wait(timeout=30) == -signum  # the command died of it: so did alarm-wait
    assert not alive(child)


def test_a_handled_signal_leaves_the_commands_status(janitor, in_tmp):
    proc = janitor.popen([ALARM_WAIT, "30", "--", "sh", "-c", "trap 'exit 7' TERM; echo READY; while :; do sleep 0.05; done"],
                         stdout=subprocess.PIPE)
    assert proc.stdout.readline() == b"READY\n"
    os.kill(proc.pid, signal.SIGTERM)
    assert proc.wait(timeout=30) == 7


@pytest.mark.timeout(60)
def test_ctrl_c_at_a_terminal_stops_the_command_and_alarm_wait(in_tmp):
    child = pexpect.spawn(ALARM_WAIT, ["60", "--", "sh", "-c", "echo READY; exec sleep 60"], timeout=30)
    try:
        child.expect_exact("READY")
        command = descendants_of(child.pid)[0]
        wait_for(lambda: proc_stat(command)[0] == "sleep", what="the exec of sleep")
        child.sendintr()
        child.expect(pexpect.EOF)
        child.close()
        assert child.signalstatus == signal.SIGINT, (child.exitstatus, child.signalstatus)
        assert not alive(command)
    finally:
        child.close(force=True)


def test_shell_status_of_a_timeout_in_a_script(in_tmp):
    # As a user writes it: the status is 124 and the script goes on.
    result = run(["sh", "-c", f"'{ALARM_WAIT}' 0.2 sleep 30; echo \"status $?\""])
    assert result.stdout == b"status 124\n"
    assert shell_status(result.returncode) == 0


@pytest.mark.timeout(60)
def test_until_with_ready_fd_never_dies_of_a_signal_sent_once_ready(tmp_path):
    # The signal comes the moment the newline does, 20 times over: alarm-wait
    # must take it (exit 0), never die of it (-USR1) nor miss it (124).
    for _ in range(20):
        read_end, write_end = os.pipe()
        proc = subprocess.Popen([ALARM_WAIT, "--until", "USR1", "--ready-fd", str(write_end), "20"],
                                pass_fds=(write_end,), stdin=subprocess.DEVNULL, stderr=subprocess.PIPE)
        os.close(write_end)
        try:
            assert os.read(read_end, 10) == b"\n"
            os.kill(proc.pid, signal.SIGUSR1)
            assert proc.wait(20) == 0, proc.stderr.read()
        finally:
            os.close(read_end)
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def test_ready_fd_needs_a_wait_without_command(tmp_path):
    read_end, write_end = os.pipe()
    try:
        result = subprocess.run([ALARM_WAIT, "--ready-fd", str(write_end), "1", "--", "true"], pass_fds=(write_end,),
                                capture_output=True, timeout=20, cwd=tmp_path)
        assert result.returncode == 125
        assert result.stderr.decode().splitlines()[0] == \
            "alarm-wait: --until, --every, --count and --ready-fd wait without a COMMAND"
        result = subprocess.run([ALARM_WAIT, "--ready-fd", "2", "--until", "USR1", "1"], capture_output=True,
                                timeout=20, cwd=tmp_path)
        assert result.returncode == 125
        assert result.stderr.decode().splitlines()[0].startswith("alarm-wait: --ready-fd: 2 must be 3 or more")
    finally:
        os.close(read_end)
        os.close(write_end)
