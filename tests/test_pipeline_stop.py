"""Library tests of issue 15's pipeline parts: the order in which a deadline
reaches the stages (pyipc.pipeline.upstream_first, stage_grace), the stages a
signal_tree spares, honest pipefail (sigpipe_ok) and the per-stage verdicts
(rusage, /proc/PID/io). No timed assertions: a wave's turn is shown by which
signals reached it before --kill-after's KILL."""

import json
import os
import signal
import sys
import textwrap

import pytest

from conftest import ROOT, run
from pyipc.pipeline import STAGE_GRACE, Pipeline, all_at_once, run_pipeline, upstream_first
from pyipc.procfs import ProcIO, proc_io

TERM, KILL = signal.SIGTERM, signal.SIGKILL

pytestmark = pytest.mark.timeout(60)


def test_the_orders():
    stages = ["a", "b", "c"]
    assert all_at_once(stages) == [stages]
    assert upstream_first(stages) == [["a"], ["b"], ["c"]]
    assert STAGE_GRACE == 1.0


def test_upstream_first_lets_the_downstream_stage_end_on_end_of_file():
    result = run_pipeline("sleep 30", "cat", timeout=0.2, kill_after=30, order=upstream_first, stage_grace=30)
    assert result.timed_out and result.statuses == [128 + TERM, 0]
    assert [s.stopped_by for s in result.stages] == ["deadline", None]
    assert [s.signals_sent for s in result.stages] == [[TERM], []]
    assert result.exit_status == 124 and result.status == 0


def test_all_at_once_is_still_the_library_default():
    # (sleeps: a cat could read end-of-file and exit 0 between two kill calls)
    result = run_pipeline("sleep 30", "sleep 30", timeout=0.2, kill_after=30, stage_grace=30)
    assert result.statuses == [128 + TERM] * 2
    assert [s.stopped_by for s in result.stages] == ["deadline"] * 2


def test_a_later_wave_waits_its_turn_and_kill_after_does_not():
    # Two stages in the first wave; the third's turn would come 30 s after
    # they ended, but --kill-after comes first: it never got TERM.
    three = ["sleep 30"] * 3
    result = run_pipeline(*three, timeout=0.2, kill_after=0.3, order=lambda s: [s[:2], s[2:]], stage_grace=30)
    assert [s.signals_sent for s in result.stages] == [[TERM], [TERM], [KILL]]
    assert result.statuses == [128 + TERM, 128 + TERM, 128 + KILL] and result.killed


def test_a_grace_of_zero_signals_every_wave_back_to_back():
    result = run_pipeline(*["sleep 30"] * 3, timeout=0.2, kill_after=30, order=upstream_first, stage_grace=0)
    assert [s.signals_sent for s in result.stages] == [[TERM]] * 3


def test_sigpipe_ok_forgives_only_a_sigpipe_its_reader_caused_and_keeps_no_fd():
    before = sorted(os.listdir("/proc/self/fd"))
    result = run_pipeline("yes", "head -1", pipefail=True, sigpipe_ok=True, capture_output=True)
    assert (result.statuses, result.status, result.stdout) == ([141, 0], 0, b"y\n")
    assert [s.sigpipe_forgiven for s in result.stages] == [True, False] and result.sigpipe_ok
    result = run_pipeline("sh -c 'kill -PIPE $$'", "cat", pipefail=True, sigpipe_ok=True)
    assert result.status == 141 and not result.stages[0].sigpipe_forgiven
    # without it, nothing is forgiven (and no write end is kept)
    result = run_pipeline("yes", "head -1", pipefail=True, capture_output=True)
    assert result.status == 141 and not any(s.sigpipe_forgiven for s in result.stages)
    # a stage that could not start keeps no write end either
    result = run_pipeline("no-such-command-here", "cat", sigpipe_ok=True)
    assert result.statuses == [127, 0]
    assert sorted(os.listdir("/proc/self/fd")) == before


def test_a_forgiven_sigpipe_counts_as_0_without_pipefail_too():
    # The last stage of a cycle writes to the first: its pipe is ours.
    result = run_pipeline("head -1", "yes", cycle=True, sigpipe_ok=True)
    assert result.statuses == [0, 141] and result.stages[1].sigpipe_forgiven and result.status == 0


def test_stage_verdicts_come_from_rusage_and_proc_io():
    result = run_pipeline("echo hello", "cat", capture_output=True)
    echo, cat = result.stages
    assert isinstance(echo.io, ProcIO) and echo.io.wchar == 6 and cat.io.wchar == 6
    assert echo.cpu_s is not None and echo.cpu_s >= 0 and echo.max_rss_kib > 0
    assert echo.as_dict()["bytes_written"] == 6
    data = result.as_dict()
    assert (data["status"], data["pipeline_status"], data["timed_out"]) == (0, 0, False)


def test_exit_status_is_what_pipe_run_exits_with():
    result = run_pipeline("sh -c 'exit 3'")
    assert result.exit_status == result.status == 3
    result.timed_out = True
    assert result.exit_status == 124 and result.as_dict()["status"] == 124
    result.received_signal, result.stages[0].exit.exit_code, result.stages[0].exit.signal = TERM, None, TERM
    # after the deadline, 124 wins over the cooperative exit (coreutils timeout)
    assert not result.died_of_received_signal and result.exit_status == 124
    result.timed_out = False
    assert result.died_of_received_signal and result.exit_status == 128 + TERM


def test_proc_io_reads_a_zombie_and_none_once_it_is_gone():
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.close(read_end)
        os.write(write_end, b"12345")
        os._exit(0)
    os.close(write_end)
    assert os.read(read_end, 10) == b"12345" and os.read(read_end, 10) == b""  # the child has exited
    os.close(read_end)
    zombie = proc_io(pid)  # not reaped yet
    assert zombie is not None and zombie.wchar >= 5
    os.waitpid(pid, 0)
    assert proc_io(pid) is None


SPARE = textwrap.dedent("""
    import json, os, signal, sys
    from pyipc.supervise import Supervisor
    from pyipc.spawn import spawn
    from pyipc.procfs import below, process_table
    sup = Supervisor(subreaper=True).begin()
    # Two trees: a shell with a sleep below it, each.
    tree = "sleep 300 & echo $! > {name}.pid; wait"
    pids = [spawn(["sh", "-c", tree.format(name=name)], sigmask=sup.child_mask) for name in ("a", "b")]
    for name in ("a", "b"):
        while not os.path.exists(name + ".pid") or not open(name + ".pid").read().strip():
            pass
    sleeps = [int(open(name + ".pid").read()) for name in ("a", "b")]
    signalled = sup.signal_tree([os.getpid()], signal.SIGTERM, include_roots=False, first=[pids[0]], spare=[pids[1]])
    os.waitpid(pids[0], 0)
    try:  # a's sleep: re-parented to us (a subreaper) once its shell died, unless the shell reaped it
        os.waitpid(sleeps[0], 0)
    except ChildProcessError:
        pass
    left = below(process_table(), [os.getpid()])
    print(json.dumps({"signalled": sorted(signalled), "a": [pids[0], sleeps[0]], "left": sorted(left),
                      "b": sorted([pids[1], sleeps[1]])}))
    sup.kill_everything("done")
    for pid in (pids[1],):
        os.waitpid(pid, 0)
    sup.end()
""")


def test_signal_tree_spares_a_stage_and_everything_below_it(tmp_path):
    result = run([sys.executable, "-c", SPARE], cwd=tmp_path, timeout=50,
                 env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    assert sorted(seen["signalled"]) == sorted(seen["a"])  # a's shell and its sleep, nothing of b's
    assert seen["left"] == seen["b"]  # b's shell and sleep still run


def test_send_returns_the_children_it_signalled():
    with Pipeline(["sleep 30", "sleep 30"], forward_signals=False) as pipeline:
        pipeline.start()
        sup = pipeline.supervisor
        sent = sup.send(sup.running(), signal.SIGTERM)
        assert sorted(child.pid for child in sent) == sorted(stage.pid for stage in pipeline.stages)
        result = pipeline.wait()
    assert result.statuses == [128 + TERM] * 2
