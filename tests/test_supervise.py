"""Library tests of the one supervision loop (pyipc/supervise.py): threads,
the inherited mask, containment of a forking tree, parent-death signals."""

import json
import os
import signal
import sys
import textwrap
import threading

import pytest

from conftest import ROOT, alive, proc_stat, run, wait_for
from pyipc.errors import SupervisionError
from pyipc.pipeline import Pipeline, run_pipeline
from pyipc.procfs import below, process_table
from pyipc.supervise import Supervisor


@pytest.mark.timeout(30)
def test_run_pipeline_from_a_thread_while_another_takes_sigchld():
    # The main thread leaves SIGCHLD unblocked, so the kernel may hand it any
    # SIGCHLD: a loop that waited for SIGCHLD in the worker thread could hang.
    # The worker waits on pidfds instead, and does not forward signals (a
    # process-wide signal would not reach it reliably).
    results, errors = [], []

    def worker():
        try:
            results.append(run_pipeline("sh -c 'exit 3'", "sh -c 'sleep 0.1; exit 5'", pipefail=True).statuses)
        except BaseException as exc:  # reported below
            errors.append(exc)

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join(20)
    assert not thread.is_alive() and errors == [] and results == [[3, 5]]


@pytest.mark.timeout(30)
def test_forwarding_beside_other_threads_is_refused_clearly():
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        with pytest.raises(SupervisionError) as info:
            Pipeline(["true"], forward_signals=True).start()
        assert info.value.threads >= 2
        assert signal.SIGCHLD not in signal.pthread_sigmask(signal.SIG_BLOCK, [])
    finally:
        stop.set()
        other.join()


@pytest.mark.timeout(30)
def test_stages_get_the_mask_of_the_caller_not_the_one_it_waits_with(tmp_path):
    out = tmp_path / "status"
    old = signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR2])
    try:
        with open(out, "w") as handle:
            run_pipeline(["grep", "SigBlk", "/proc/self/status"], stdout=handle.fileno(), forward_signals=True)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)
    mask = int(out.read_text().split()[1], 16)
    blocked = {n for n in range(1, 65) if mask & (1 << (n - 1))}
    assert blocked == set(old) | {signal.SIGUSR2}


FORKER = textwrap.dedent("""
    import json, os, sys
    from pyipc.supervise import Supervisor
    from pyipc.spawn import spawn
    sup = Supervisor(subreaper=True).begin()
    # Each process forks a child and exits, for ever: the tree keeps changing
    # pids far faster than /proc can be scanned, and every new one is an
    # orphan. In a process group of its own, killpg catches it whole.
    code = "import os\\nwhile True:\\n    if os.fork():\\n        os._exit(0)\\n"
    pid = spawn([sys.executable, "-c", code], sigmask=sup.child_mask, process_group=0)
    sup.add(pid)
    while open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] != "Z":
        pass  # the first fork has happened: the chain is running
    signalled = sup.signal_tree([os.getpid()], 9, include_roots=False, groups=[pid])

    def dying(pid):
        # SIGKILL is pending (it has not run since, to finish dying), or it is gone
        try:
            status = open(f"/proc/{pid}/status").read()
        except OSError:
            return True
        pending = [int(line.split()[1], 16) for line in status.splitlines() if line.startswith(("SigPnd:", "ShdPnd:"))]
        return any(mask & (1 << 8) for mask in pending)

    left = [pid for pid in sup.everything_below() if not dying(pid)]
    while True:  # reap what was killed: we are its subreaper
        try:
            os.wait()
        except ChildProcessError:
            break
    print(json.dumps({"signalled": len(signalled), "left": left}))
""")


@pytest.mark.timeout(60)
def test_signal_tree_kills_a_tree_that_keeps_forking():
    result = run([sys.executable, "-c", FORKER], cwd=ROOT, timeout=50)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    assert seen["left"] == []


def test_below_follows_parents_and_skips_zombies():
    table = {1: (0, "S", 1), 10: (1, "S", 10), 11: (10, "Z", 10), 12: (11, "S", 12), 20: (1, "R", 20)}
    assert sorted(below(table, [10])) == [12]  # 11 is a zombie, but its live child still counts
    assert sorted(below(table, [1])) == [10, 12, 20]
    assert os.getpid() in process_table()


PDEATH = textwrap.dedent("""
    import os, signal, sys
    from pyipc.pipeline import Pipeline
    pipeline = Pipeline(["sleep 300"], parent_death_signal=signal.SIGTERM)
    pipeline.start()
    print(pipeline.stages[0].pid, flush=True)
    signal.pause()
""")


@pytest.mark.timeout(30)
def test_parent_death_signal_reaches_the_stage_when_the_runner_is_killed(janitor):
    import subprocess

    helper = janitor.popen([sys.executable, "-c", PDEATH], cwd=ROOT, stdout=subprocess.PIPE)
    stage = janitor.track(int(helper.stdout.readline()))
    wait_for(lambda: proc_stat(stage) and proc_stat(stage)[0] == "sleep", what="the stage to exec sleep")
    helper.kill()
    helper.wait(timeout=10)
    wait_for(lambda: not alive(stage), 15, "the stage to die with its parent")


def test_supervisor_restores_the_mask_and_closes_its_fds():
    before_mask = signal.pthread_sigmask(signal.SIG_BLOCK, [])
    before_fds = set(os.listdir("/proc/self/fd"))
    with Supervisor(forwarded=[signal.SIGTERM]) as sup:
        assert signal.SIGTERM in signal.pthread_sigmask(signal.SIG_BLOCK, [])
        assert sup.child_mask == tuple(before_mask)
    assert signal.pthread_sigmask(signal.SIG_BLOCK, []) == before_mask
    assert set(os.listdir("/proc/self/fd")) == before_fds
