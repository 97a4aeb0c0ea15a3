"""Library tests of pyipc.reaping.

A Reaper makes its process a subreaper and collects every child it has, so it
never runs inside pytest itself: each Reaper test runs it in a small helper
process and reads back what it saw as JSON.
"""

import json
import os
import signal
import subprocess

import pytest

from conftest import PYTHON, proc_stat, run, wait_for
from pyipc.errors import SpawnError
from pyipc.reaping import Death, ReapResult, children_of, list_zombies, proc_info, watch_pids
from pyipc.status import ExitStatus

HELPER = r"""
import json, os, signal, sys
from pyipc.reaping import Reaper
spec = json.loads(sys.argv[1])
deaths = []
before = sorted(signal.pthread_sigmask(signal.SIG_BLOCK, []))
with Reaper(spec["argvs"], on_death=lambda d: deaths.append(d.as_dict()),
            wait_all=spec.get("wait_all", False), subreaper=spec.get("subreaper", True),
            group=spec.get("group", False), grace=spec.get("grace")) as reaper:
    errors = reaper.start()
    print("STARTED", flush=True)
    if spec.get("settle"):  # let every direct child end before the wait starts
        import time
        while any(open(f"/proc/{c.pid}/stat").read().rsplit(")", 1)[1].split()[0] != "Z"
                  for c in reaper.children if c.pid):
            time.sleep(0.001)
    result = reaper.wait()
import ctypes
flag = ctypes.c_int(-1)
ctypes.CDLL(None).prctl(37, ctypes.byref(flag), 0, 0, 0)  # PR_GET_CHILD_SUBREAPER
print(json.dumps({
    "deaths": deaths, "status": result.status, "adopted": result.adopted,
    "signal": result.received_signal, "killed": result.killed,
    "errors": [e.exit_status for e in errors], "subreaper": flag.value,
    "mask_before": before, "mask_after": sorted(signal.pthread_sigmask(signal.SIG_BLOCK, [])),
    "sigchld": int(signal.getsignal(signal.SIGCHLD)),
}))
"""

BURST = "import os,sys\nr,w=os.pipe()\nfor _ in range(int(sys.argv[1])):\n    if os.fork()==0:\n        os.close(w); os.read(r,1); os._exit(7)\n"


def reap(argvs, timeout=30, preexec_fn=None, **options):
    result = run([PYTHON, "-c", HELPER, json.dumps({"argvs": argvs, **options})], timeout=timeout,
                 preexec_fn=preexec_fn)
    assert result.returncode == 0, result.stderr.decode()
    lines = result.stdout.decode().splitlines()
    assert lines[0] == "STARTED"
    return json.loads(lines[-1])


# -- /proc -------------------------------------------------------------------------

def test_proc_info_of_ourselves():
    info = proc_info(os.getpid())
    assert info.ppid == os.getppid() and info.state in "RS" and info.pgid == os.getpgid(0)
    assert info.name == proc_stat(os.getpid())[0]
    assert 0 <= info.age_s < 24 * 3600


@pytest.mark.timeout(20)
def test_proc_info_reads_a_name_with_parentheses_and_spaces(in_tmp, janitor):
    odd = in_tmp / "a) b (c"
    odd.symlink_to("/bin/sleep")
    child = janitor.popen([str(odd), "30"])
    # Wait for it to settle asleep in sleep(30): right after exec it may still
    # be running, or briefly in D (seen once in CI), which is no parsing error.
    def settled():
        info = proc_info(child.pid)
        return info if info.name == "a) b (c" and info.state == "S" else None

    info = wait_for(settled, 10, "the renamed sleep to settle in state S")
    assert info.ppid == os.getpid() and info.pgid == os.getpgid(child.pid)


def test_proc_info_of_a_gone_process_is_none():
    child = subprocess.Popen(["true"])
    child.wait()
    assert proc_info(child.pid) is None or proc_info(child.pid).name != "true"


@pytest.mark.timeout(20)
def test_list_zombies_and_children_of_see_an_unwaited_child(janitor):
    child = janitor.popen(["true"])  # not waited for: a zombie of pytest
    wait_for(lambda: proc_stat(child.pid)[1] == "Z", 10, "the zombie")
    assert child.pid in children_of(os.getpid())
    (zombie,) = [z for z in list_zombies() if z.pid == child.pid]
    assert (zombie.name, zombie.ppid, zombie.parent_name) == ("true", os.getpid(), proc_info(os.getpid()).name)
    assert set(zombie.as_dict()) == {"pid", "name", "ppid", "parent", "age_s"}
    child.wait()
    assert child.pid not in [z.pid for z in list_zombies()]


# -- watching non-children ---------------------------------------------------------------

@pytest.mark.timeout(20)
def test_watch_pids_reads_the_status_of_a_zombie_and_reports_every_end(janitor):
    quick = janitor.popen(["sh", "-c", "exit 5"])
    slow = janitor.popen(["sleep", "30"])
    ends = []

    def on_end(end):
        ends.append(end)
        if end.pid == quick.pid:
            os.kill(slow.pid, signal.SIGKILL)

    assert watch_pids([quick.pid, slow.pid, quick.pid], on_end=on_end, timeout=15) is True
    assert [e.pid for e in ends] == [quick.pid, slow.pid]
    assert ends[0].exit == ExitStatus(exit_code=5) and ends[0].name == "sh"
    assert ends[1].exit == ExitStatus(signal=signal.SIGKILL)
    assert ends[1].as_dict()["status"] == 137 and ends[1].as_dict()["watched"] is True


@pytest.mark.timeout(20)
def test_watch_pids_status_unknown_once_reaped_and_timeout(janitor):
    slow = janitor.popen(["sleep", "30"])
    assert watch_pids([slow.pid], on_end=lambda end: pytest.fail("ended?"), timeout=0.2) is False
    ends = []
    slow.kill()
    slow.wait()
    with pytest.raises(ProcessLookupError) as caught:
        watch_pids([slow.pid], on_end=ends.append)
    assert caught.value.filename == str(slow.pid)


def test_watch_pids_closes_its_pidfds():
    before = set(os.listdir("/proc/self/fd"))
    with pytest.raises(ProcessLookupError):
        watch_pids([os.getpid(), 2 ** 22 + 1], on_end=lambda end: None)
    assert set(os.listdir("/proc/self/fd")) == before


# -- results --------------------------------------------------------------------------------

def death(code=None, sig=None, adopted=False):
    return Death(1, "x", ExitStatus(exit_code=code, signal=sig), adopted=adopted, argv=None if adopted else ["x"])


def test_status_is_the_first_failing_child_in_order():
    assert ReapResult([death(0), death(0)]).status == 0
    assert ReapResult([death(0), death(sig=9), death(3)]).status == 137
    assert ReapResult([death(4), death(sig=9)]).status == 4


def test_death_as_dict_has_the_documented_keys():
    record = death(sig=signal.SIGSEGV).as_dict()
    assert {"pid", "name", "argv", "status", "exit_code", "signal", "core_dumped", "wall_s", "adopted"} <= set(record)
    assert (record["status"], record["signal"], record["exit_code"]) == (139, "SIGSEGV", None)
    error = Death(2, "nope", ExitStatus(exit_code=127), adopted=False, argv=["nope"],
                  error=SpawnError(2, "nope", True))
    assert error.status == 127 and error.as_dict()["error"] == "command not found"


# -- the Reaper, in a helper process -----------------------------------------------------

@pytest.mark.timeout(30)
def test_reaper_reports_direct_children_and_restores_the_mask():
    seen = reap([["sh", "-c", "exit 3"], ["sh", "-c", "kill -9 $$"], ["true"]])
    assert seen["status"] == 3 and seen["subreaper"] == 1
    assert sorted((d["argv"][2] if len(d["argv"]) > 2 else "true", d["status"]) for d in seen["deaths"]) == [
        ("exit 3", 3), ("kill -9 $$", 137), ("true", 0)]
    assert all(not d["adopted"] and d["name"] in ("sh", "true") and d["cpu_s"] is not None for d in seen["deaths"])
    assert seen["mask_after"] == seen["mask_before"]


@pytest.mark.timeout(30)
def test_reaper_reaps_a_burst_of_orphans_with_wait_all():
    seen = reap([[PYTHON, "-c", BURST, "50"]], wait_all=True)
    adopted = [d for d in seen["deaths"] if d["adopted"]]
    assert seen["adopted"] == len(adopted) == 50 and len({d["pid"] for d in adopted}) == 50
    assert all(d["exit_code"] == 7 and d["name"].startswith("python") for d in adopted)
    assert seen["status"] == 0  # adopted processes do not decide the status


@pytest.mark.timeout(30)
def test_reaper_works_when_sigchld_was_ignored():
    seen = reap([["sh", "-c", "exit 6"]], preexec_fn=lambda: signal.signal(signal.SIGCHLD, signal.SIG_IGN))
    assert seen["status"] == 6 and seen["sigchld"] == int(signal.SIG_IGN)


@pytest.mark.timeout(30)
def test_reaper_without_subreaper_adopts_nothing():
    seen = reap([["sh", "-c", "(sleep 0.2 &)"]], subreaper=False, wait_all=True)
    assert seen["adopted"] == 0 and seen["subreaper"] == 0 and len(seen["deaths"]) == 1


@pytest.mark.timeout(30)
def test_reaper_reports_a_command_that_cannot_start_and_runs_the_others():
    seen = reap([["no-such-command-xyz"], ["sh", "-c", "exit 0"]])
    assert seen["errors"] == [127] and seen["status"] == 127
    failed = [d for d in seen["deaths"] if d.get("error")]
    assert failed[0]["error"] == "command not found" and failed[0]["status"] == 127
    assert len(seen["deaths"]) == 2


@pytest.mark.timeout(30)
def test_reaper_passes_a_signal_on_and_records_it(janitor):
    proc = janitor.popen([PYTHON, "-c", HELPER, json.dumps({"argvs": [["sleep", "30"]]})], stdout=subprocess.PIPE)
    assert proc.stdout.readline() == b"STARTED\n"
    proc.send_signal(signal.SIGHUP)
    out, _ = proc.communicate(timeout=20)
    seen = json.loads(out)
    assert seen["signal"] == signal.SIGHUP and seen["status"] == 128 + signal.SIGHUP
    assert seen["deaths"][0]["signal"] == "SIGHUP"


@pytest.mark.timeout(30)
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_pending_with_the_last_sigchld_is_recorded(signum):
    # The child signals the reaper and exits at once; the wait starts only
    # after it is a zombie, so the signal and its SIGCHLD are both pending when
    # the first reap() finds no child left. Seen in CI as Ctrl-C at a terminal
    # reaching reap-watch and its child together: reap-watch exited with the
    # child's 3 instead of dying of SIGINT, the signal dropped with the mask.
    seen = reap([["sh", "-c", f"kill -{signum.name[3:]} $PPID; exit 3"]], settle=True)
    assert seen["status"] == 3 and seen["deaths"][0]["status"] == 3
    assert seen["signal"] == signum
    assert seen["mask_after"] == seen["mask_before"]


@pytest.mark.timeout(30)
def test_grace_kills_what_does_not_end_on_the_signal_and_says_so(janitor):
    # The helper starts with TERM blocked, so its child inherits a mask where
    # TERM stays pending (race-free stubbornness); --grace must KILL it and
    # record that it did. Cooperative exit: the child did not die of TERM.
    spec = json.dumps({"argvs": [["sleep", "30"]], "grace": 0.2})
    proc = janitor.popen([PYTHON, "-c", HELPER, spec], stdout=subprocess.PIPE,
                         preexec_fn=lambda: signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGTERM]))
    assert proc.stdout.readline() == b"STARTED\n"
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=20)
    seen = json.loads(out)
    assert seen["killed"] is True and seen["signal"] == signal.SIGTERM
    assert seen["status"] == 137 and seen["deaths"][0]["signal"] == "SIGKILL"
