"""End-to-end: nothing pipe-run, alarm-wait or reap-watch started outlives them
(issue 11). Escapees that call setsid, trees that keep forking, SIGKILL of the
runner; cooperative exit; the signal mask the children get. Every test waits
for events (a pid file, a READY line), and cleans up by pid."""

import json
import os
import signal
import subprocess

import pytest

from conftest import PYTHON, alive, proc_stat, run, script, shell_status, wait_for

PIPE_RUN = script("pipe-run")
ALARM_WAIT = script("alarm-wait")
REAP_WATCH = script("reap-watch")

# A double fork plus setsid: the subshell starts sleep in a session of its own
# and exits, so sleep is orphaned (out of the group, out of the session) while
# the command itself goes on.
ESCAPE = "sh -c '(setsid sleep 300 > /dev/null 2>&1 & echo $! > escapee.pid); echo READY; exec sleep 300'"

# A tree that keeps forking: each round leaves an orphan sleep behind.
FORKER = "sh -c 'echo READY; while :; do (sleep 300 > /dev/null 2>&1 & echo $! >> forked.pids); done'"

TRAP_TERM = (f"{PYTHON} -c \"import signal, sys; signal.signal(signal.SIGTERM, lambda *a: sys.exit(0)); "
             f"print('READY', flush=True); signal.pause()\"")

RUNNERS = {
    "pipe-run": lambda job, *opts: [PIPE_RUN, *opts, job],
    "alarm-wait": lambda job, *opts: [ALARM_WAIT, *opts, "0", "--", "sh", "-c", f"exec {job}"],
    "reap-watch": lambda job, *opts: [REAP_WATCH, *opts, job],
}


def pid_from(path):
    return int(wait_for(lambda: path.exists() and path.read_text().strip(), 15, f"{path.name}"))


def sleeps(pids):
    """Those of pids that are still a live sleep (a reused pid would not be one)."""
    return [pid for pid in pids if alive(pid) and proc_stat(pid)[0] == "sleep"]


def start(janitor, argv, **kwargs):
    proc = janitor.popen(argv, stdout=subprocess.PIPE, **kwargs)
    assert proc.stdout.readline() == b"READY\n"
    return proc


# -- escapees ------------------------------------------------------------------------

@pytest.mark.timeout(60)
@pytest.mark.parametrize("argv", [
    [PIPE_RUN, "--timeout", "0.5", ESCAPE, "cat"],
    [ALARM_WAIT, "0.5", "sh", "-c", ESCAPE[7:-1]],
], ids=["pipe-run", "alarm-wait"])
def test_a_setsid_escapee_does_not_survive_a_timeout(argv, in_tmp, janitor):
    proc = janitor.popen(argv, stdout=subprocess.PIPE)
    escapee = janitor.track(pid_from(in_tmp / "escapee.pid"))
    proc.communicate(timeout=30)
    assert proc.returncode == 124
    assert sleeps([escapee]) == []


@pytest.mark.timeout(60)
@pytest.mark.parametrize("runner", sorted(RUNNERS))
def test_a_setsid_escapee_does_not_survive_a_term(runner, in_tmp, janitor):
    proc = start(janitor, RUNNERS[runner](ESCAPE))
    escapee = janitor.track(pid_from(in_tmp / "escapee.pid"))
    wait_for(lambda: proc_stat(escapee) and proc_stat(escapee)[0] == "sleep", what="the escapee to exec sleep")
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=30)
    # The command's sleep died of TERM, so the runner dies of TERM as well.
    assert shell_status(proc.returncode) == 143
    assert sleeps([escapee]) == []


@pytest.mark.timeout(60)
@pytest.mark.parametrize("argv", [
    [PIPE_RUN, "--timeout", "0.5", FORKER],
    [ALARM_WAIT, "0.5", "sh", "-c", FORKER[7:-1]],
], ids=["pipe-run", "alarm-wait"])
def test_a_tree_that_keeps_forking_is_killed_whole(argv, in_tmp, janitor):
    proc = start(janitor, argv)
    proc.communicate(timeout=30)
    forked = [int(p) for p in (in_tmp / "forked.pids").read_text().split()]
    for pid in forked:
        janitor.track(pid)
    assert proc.returncode == 124 and len(forked) > 0
    assert sleeps(forked) == []


@pytest.mark.timeout(60)
def test_reap_watch_term_reaches_a_tree_that_keeps_forking(in_tmp, janitor):
    proc = start(janitor, [REAP_WATCH, FORKER])
    wait_for(lambda: (in_tmp / "forked.pids").exists() and len((in_tmp / "forked.pids").read_text().split()) > 5,
             what="some forks")
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=30)
    forked = [int(p) for p in (in_tmp / "forked.pids").read_text().split()]
    for pid in forked:
        janitor.track(pid)
    assert sleeps(forked) == []


# -- leftovers when the stages end on their own ------------------------------------

LEAVE_BEHIND = "sh -c '(sleep 300 > /dev/null 2>&1 & echo $! > left.pid)'"


@pytest.mark.timeout(60)
def test_pipe_run_reports_adopted_and_left_running_processes(in_tmp, janitor):
    result = run([PIPE_RUN, "--report", "json", LEAVE_BEHIND, "cat"])
    left = janitor.track(pid_from(in_tmp / "left.pid"))
    assert result.returncode == 0
    report = json.loads(result.stderr)
    # Left running by default, as a shell leaves it, and named in the report.
    assert sleeps([left]) == [left]
    assert {"pid": left, "argv": ["sleep", "300"], "status": None, "signal": None, "running": True} \
        in report["adopted"]


@pytest.mark.timeout(60)
def test_pipe_run_kill_leftovers_and_wait_all(in_tmp, janitor):
    result = run([PIPE_RUN, "--kill-leftovers", "0.2", "--report", "json", LEAVE_BEHIND])
    left = janitor.track(pid_from(in_tmp / "left.pid"))
    assert result.returncode == 0 and sleeps([left]) == []
    adopted = json.loads(result.stderr)["adopted"]
    assert [(a["pid"], a["argv"], a["signal"]) for a in adopted if a["pid"] == left] == \
        [(left, ["sleep", "300"], "SIGKILL")]
    # --wait-all: the orphan is waited for and reported with the argv it ran.
    result = run([PIPE_RUN, "--wait-all", "--report", "json", "sh -c '(sleep 0.5; exit 3) &'"])
    adopted = json.loads(result.stderr)["adopted"]
    assert result.returncode == 0
    assert [(a["argv"], a["status"]) for a in adopted] == [(["sh", "-c", "(sleep 0.5; exit 3) &"], 3)]


# -- SIGKILL of the runner -------------------------------------------------------------

def direct_sleep(runner_pid):
    def found():
        for pid in map(int, filter(str.isdigit, os.listdir("/proc"))):
            stat = proc_stat(pid)
            if stat and stat[2] == runner_pid and stat[0] == "sleep":
                return pid
        return None
    return wait_for(found, 15, "the runner's sleep child")


@pytest.mark.timeout(60)
@pytest.mark.parametrize("runner", sorted(RUNNERS))
@pytest.mark.parametrize("pdeathsig", [True, False], ids=["default", "no-pdeathsig"])
def test_sigkill_of_the_runner_kills_its_direct_children(runner, pdeathsig, in_tmp, janitor):
    options = [] if pdeathsig else ["--no-pdeathsig"]
    proc = janitor.popen(RUNNERS[runner]("sleep 300", *options))
    child = janitor.track(direct_sleep(proc.pid))
    proc.kill()
    proc.wait(timeout=10)
    if pdeathsig:
        wait_for(lambda: not sleeps([child]), 15, "the child to die with its parent")
    else:
        assert sleeps([child]) == [child]  # the option says so: it keeps running


# -- cooperative exit -------------------------------------------------------------------

@pytest.mark.timeout(60)
@pytest.mark.parametrize("runner", sorted(RUNNERS))
def test_a_child_that_handles_term_and_exits_0_makes_the_runner_exit_0(runner, in_tmp, janitor):
    proc = start(janitor, RUNNERS[runner](TRAP_TERM))
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0


@pytest.mark.timeout(60)
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGQUIT])
def test_reap_watch_exits_42_when_its_child_traps_the_signal_and_exits_42(signum, in_tmp, janitor):
    # tini's behaviour: a clean docker stop must not look like a crash (143).
    code = (f"import signal, sys; signal.signal({int(signum)}, lambda *a: sys.exit(42)); "
            "print('READY', flush=True); signal.pause()")
    proc = start(janitor, [REAP_WATCH, f"{PYTHON} -c \"{code}\""])
    proc.send_signal(signum)
    assert proc.wait(timeout=30) == 42


# -- the signal mask the children get -----------------------------------------------------

@pytest.mark.timeout(60)
@pytest.mark.parametrize("argv", [
    [PIPE_RUN, "grep SigBlk /proc/self/status"],
    [ALARM_WAIT, "5", "--", "grep", "SigBlk", "/proc/self/status"],
    [REAP_WATCH, "grep SigBlk /proc/self/status"],
], ids=["pipe-run", "alarm-wait", "reap-watch"])
def test_children_get_the_signal_mask_the_runner_inherited(argv, in_tmp):
    inherited = {signal.SIGUSR1, signal.SIGWINCH}
    result = run(argv, preexec_fn=lambda: signal.pthread_sigmask(signal.SIG_SETMASK, inherited))
    assert result.returncode == 0, result.stderr
    mask = int(result.stdout.decode().split()[1], 16)
    # Exactly what was inherited: not empty, and none of what the runner blocks to wait (CHLD, TERM...).
    assert {n for n in range(1, 65) if mask & (1 << (n - 1))} == inherited


# -- alarm-wait -s 0 (from coreutils' own timeout tests) ------------------------------------

@pytest.mark.timeout(60)
def test_alarm_wait_signal_0_then_kill(in_tmp):
    result = run([ALARM_WAIT, "-v", "-s", "0", "-k", "1", ".1", "--", "sleep", "10"])
    assert result.returncode == 137
    assert result.stderr.decode() == ("alarm-wait: sending signal 0 to command 'sleep'\n"
                                      "alarm-wait: sending signal KILL to command 'sleep'\n")


# -- reap-watch reaps while it starts ------------------------------------------------------

@pytest.mark.timeout(120)
def test_reap_watch_reaps_children_while_later_ones_are_still_starting(in_tmp):
    # Issue 12, item 3: each true ends within milliseconds. Reaped only once
    # every COMMAND had started, half of them would report a wall time of
    # about half the run; reaped between starts, each reports a few starts.
    import time

    count = 200
    began = time.monotonic()
    result = run([REAP_WATCH, "--json", *(["true"] * count)], timeout=100)
    elapsed = time.monotonic() - began
    assert result.returncode == 0
    deaths = [json.loads(line) for line in result.stderr.decode().splitlines()]
    assert len(deaths) == count and all(d["status"] == 0 for d in deaths)
    median = sorted(d["wall_s"] for d in deaths)[count // 2]
    assert median < elapsed / 10, (median, elapsed)
