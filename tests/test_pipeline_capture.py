"""run_pipeline's input and capture (issue 14): names and behaviour as
subprocess.run has them, exact per-stage results kept, no deadlock on large
data either way, the deadline still applied, no fd left behind."""

from __future__ import annotations

import os
import signal
import time

import pytest

from pyipc import PipelineError, run_pipeline

MiB = 1 << 20


def open_fds() -> list[str]:
    return sorted(os.listdir("/proc/self/fd"))


def test_captures_the_last_stages_stdout_and_each_stages_stderr():
    result = run_pipeline("sh -c 'echo one >&2; echo data'", "sh -c 'tr a-z A-Z; echo two >&2; exit 3'",
                          capture_output=True)
    assert result.stdout == b"DATA\n"
    assert [stage.stderr for stage in result.stages] == [b"one\n", b"two\n"]
    assert result.statuses == [0, 3]


def test_merge_stderr_sends_all_but_the_last_stages_stderr_down_the_pipe():
    result = run_pipeline("sh -c 'echo err >&2'", "cat", "sh -c 'cat; echo last >&2'", merge_stderr=True,
                          capture_output=True)
    assert result.stdout == b"err\n"
    assert [stage.stderr for stage in result.stages] == [None, None, b"last\n"]


def test_input_is_fed_to_the_first_stage():
    result = run_pipeline("tr a-z A-Z", "wc -c", input=b"abc\n", capture_output=True)
    assert result.stdout.split() == [b"4"] and result.status == 0


@pytest.mark.timeout(120)
@pytest.mark.parametrize("stages", [["cat"], ["cat", "cat"]])
def test_ten_mib_each_way_does_not_deadlock(stages):
    data = os.urandom(10 * MiB)
    before = open_fds()
    started = time.monotonic()
    result = run_pipeline(*stages, input=data, capture_output=True, timeout=90)
    elapsed = time.monotonic() - started
    assert not result.timed_out, f"{elapsed:.1f}s"
    assert result.stdout == data and result.statuses == [0] * len(stages)
    assert open_fds() == before


def test_a_first_stage_that_stops_reading_ends_the_input_quietly():
    result = run_pipeline("head -c 5", input=b"x" * (4 * MiB), capture_output=True, timeout=30)
    assert (result.stdout, result.status, result.timed_out) == (b"xxxxx", 0, False)


@pytest.mark.timeout(60)
def test_the_deadline_still_applies_while_input_waits_and_output_is_captured():
    # sleep reads nothing: the input pipe fills and waits; the deadline ends it.
    started = time.monotonic()
    result = run_pipeline("sleep 30", "cat", input=b"y" * (4 * MiB), capture_output=True, timeout=0.3, kill_after=5)
    assert time.monotonic() - started < 10
    assert result.timed_out and result.statuses[0] == 128 + signal.SIGTERM
    assert result.stdout == b""


def test_check_raises_an_error_that_carries_the_whole_result():
    with pytest.raises(PipelineError) as caught:
        run_pipeline("sh -c 'echo partial; exit 3'", "cat", capture_output=True, check=True, pipefail=True)
    error = caught.value
    assert error.status == 3 and error.result.statuses == [3, 0]
    assert error.result.stdout == b"partial\n"
    assert run_pipeline("true", check=True).status == 0


def test_capture_and_an_explicit_fd_exclude_each_other():
    with pytest.raises(ValueError):
        run_pipeline("true", stdout=1, capture_output=True)
    with pytest.raises(ValueError):
        run_pipeline("true", stdin=0, input=b"")


def test_empty_input_is_an_immediate_eof():
    result = run_pipeline("wc -c", input=b"", capture_output=True, timeout=10)
    assert result.stdout.split() == [b"0"] and not result.timed_out


def test_no_fd_is_left_open_when_a_stage_cannot_start():
    before = open_fds()
    result = run_pipeline("no-such-command-here", "cat", input=b"abc", capture_output=True)
    assert result.statuses[0] == 127 and result.stdout == b""
    assert open_fds() == before
