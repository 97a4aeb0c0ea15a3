"""End-to-end: graceful deadlines (issue 15). At the deadline, and on a TERM,
INT or HUP passed on, the stage that feeds the others is signalled first; a
downstream stage gets end-of-file and --stage-grace to finish and flush. The
man page's own `tail -f log | grep ERROR > errors.txt` example is run here
(with a stand-in log and a short deadline) and keeps grep's lines.

No timed assertions: the order is read from --trace and from the report, and
where a slow machine could miss a precondition (tail had not written the log
before the deadline), the report says so and the run is repeated with more
time."""

import json
import os
import re
import signal
import subprocess

import pytest

from conftest import ENV, PYTHON, SCRIPTS, alive, children_of, proc_stat, run, script, shell_status, wait_for
from man_examples import covers
from pyipc.commands import pipe_run as pipe_run_command
from pyipc.procfs import proc_io

PIPE_RUN = script("pipe-run")
SHELL_ENV = dict(ENV, PATH=f"{SCRIPTS}:{ENV.get('PATH', '/usr/bin:/bin')}")

pytestmark = pytest.mark.timeout(60)

LOG = "boot\nERROR disk full\nretrying\nERROR disk still full\nok\n"
MATCHES = "ERROR disk full\nERROR disk still full\n"


def pipe_run(*args, **kwargs):
    return run([PIPE_RUN, *args], **kwargs)


def example(start: str) -> str:
    """The example of pipe-run(1) that starts with start, as the page shows it."""
    found = [text for text, _ in pipe_run_command.MANUAL["examples"] if text.startswith(start)]
    assert len(found) == 1, f"pipe-run(1) has no example starting {start!r}"
    return found[0]


def kills(trace: str, signame: str) -> list[int]:
    """The pids that --trace shows getting signame, in order."""
    return [int(pid) for pid in re.findall(rf"kill\((\d+), {signame}\)", trace)]


def stage_pids(trace: str) -> list[int]:
    return [int(pid) for pid in re.findall(r"\] fork\(\) = (\d+)", trace)]


# -- the man page's example ----------------------------------------------------------

@covers("pipe-run", "pipe-run --timeout 5 -k 1 --report json")
def test_the_man_page_tail_f_grep_example_keeps_greps_lines(in_tmp):
    text = example('pipe-run --timeout 5 -k 1 --report json "tail -f log" "grep ERROR" > errors.txt')
    (in_tmp / "log").write_text(LOG)  # under ten lines: tail -f writes it all, then waits for more
    # A short deadline instead of 5 s; if the machine was too slow for it
    # (tail had not written the log, or grep had not ended within the grace
    # after its end-of-file), the report shows it and the run gets more time.
    for deadline, more in (("1", ""), ("3", " --stage-grace 20 -k 20"), ("10", " --stage-grace 50 -k 50")):
        script_text = text.replace("--timeout 5 -k 1", f"--timeout {deadline} -k 1{more}")
        assert script_text != text
        result = run(["bash", "-c", script_text], env=SHELL_ENV)
        report = json.loads(result.stderr)
        tail, grep = report["stages"]
        if tail["bytes_written"] == len(LOG) and grep["stopped_by"] is None:
            break
    assert result.returncode == 124, result.stderr
    assert (in_tmp / "errors.txt").read_text() == MATCHES
    # The report: the status pipe-run exits with; tail stopped by the
    # deadline's TERM; grep ended on its own at end-of-file.
    assert (report["status"], report["timed_out"], report["pipeline_status"]) == (124, True, 0)
    assert (tail["signal"], tail["stopped_by"], tail["signals_sent"]) == ("SIGTERM", "deadline", ["SIGTERM"])
    assert (grep["status"], grep["signal"], grep["stopped_by"], grep["signals_sent"]) == (0, None, None, [])
    assert grep["bytes_written"] == len(MATCHES)


def test_all_at_once_loses_greps_buffered_lines_as_timeout_does(in_tmp):
    # What the example did before issue 15, and what --all-at-once still does:
    # grep, writing to a file, holds its matches until it exits, and TERM ends it first.
    (in_tmp / "log").write_text(LOG)
    result = run(["bash", "-c", f'{PIPE_RUN} --all-at-once --timeout 0.5 -k 5 "tail -f log" "grep ERROR" > out'])
    assert result.returncode == 124
    assert (in_tmp / "out").read_text() == ""


# -- the order -------------------------------------------------------------------------

def test_upstream_first_then_each_stage_that_has_not_ended_after_its_grace():
    # sleep ignores end-of-file: each stage gets TERM in its turn, the first one first.
    result = pipe_run("--trace", "--timeout", "0.2", "--stage-grace", "0.1", "--report", "json",
                      "sleep 30", "sleep 30", "sleep 30")
    assert result.returncode == 124
    trace, report = result.stderr.decode().split("\n{", 1)
    stages = json.loads("{" + report)["stages"]
    assert [s["signal"] for s in stages] == ["SIGTERM"] * 3
    assert [s["stopped_by"] for s in stages] == ["deadline"] * 3
    pids = stage_pids(trace)
    assert kills(trace, "SIGTERM") == pids  # one at a time, upstream first


def test_a_feeder_that_ignores_the_signal_holds_the_next_stage_for_one_grace_only():
    # The first stage cannot act on TERM (pipe-run starts with TERM blocked,
    # and its stages inherit that mask), so the second never gets end-of-file:
    # it gets TERM once the grace after the first one's TERM is over (it
    # unblocks TERM, so TERM ends it whenever it came); --kill-after ends the first.
    unblocks = (f"{PYTHON} -c 'import signal; signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGTERM]); "
                "signal.pause()'")
    result = pipe_run("--timeout", "0.2", "--stage-grace", "0.2", "-k", "1", "--report", "json", "sleep 30", unblocks,
                      preexec_fn=lambda: signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGTERM]))
    assert result.returncode == 124
    first, second = json.loads(result.stderr)["stages"]
    assert (first["signal"], first["signals_sent"]) == ("SIGKILL", ["SIGTERM", "SIGKILL"])
    assert (second["signal"], second["signals_sent"]) == ("SIGTERM", ["SIGTERM"])


def test_all_at_once_and_cycle_signal_every_stage_before_reaping_any():
    for options in (["--all-at-once"], ["--cycle"]):
        result = pipe_run("--trace", *options, "--timeout", "0.2", "sleep 30", "sleep 30")
        assert result.returncode == 124
        trace = result.stderr.decode()
        before_reaping = trace.split("waitpid(", 1)[0]
        assert sorted(kills(before_reaping, "SIGTERM")) == sorted(stage_pids(trace)), options


@pytest.mark.parametrize("args, needle", [
    (["--stage-grace", "1", "--all-at-once", "true"], "--stage-grace has no effect with --all-at-once"),
    (["--stage-grace", "1", "--cycle", "true"], "--stage-grace has no effect with --cycle"),
    (["--stage-grace", "soon", "true"], "invalid duration 'soon'"),
])
def test_stage_grace_usage_errors(args, needle):
    result = pipe_run(*args)
    assert result.returncode == 2
    assert needle in result.stderr.decode().splitlines()[0]


# -- signals passed on ----------------------------------------------------------------

def child_named(pid: int, name: str) -> int | None:
    for kid in children_of(pid):
        stat = proc_stat(kid)
        if stat is not None and stat[0] == name:
            return kid
    return None


def wrote(pid: int, count: int) -> bool:
    io = proc_io(pid)
    return io is not None and io.wchar >= count


@pytest.mark.parametrize("options, kept", [([], MATCHES), (["--all-at-once"], "")])
def test_a_term_passed_on_goes_upstream_first_too(in_tmp, janitor, options, kept):
    (in_tmp / "log").write_text(LOG)
    proc = janitor.popen([PIPE_RUN, *options, "--report", "json", "--report-file", "report.json", "-o", "out",
                          "tail -f log", "grep ERROR"])
    tail = wait_for(lambda: child_named(proc.pid, "tail"), 20, "tail to start")
    wait_for(lambda: wrote(tail, len(LOG)), 20, "tail to write the log into the pipe")
    proc.send_signal(signal.SIGTERM)
    # tail died of TERM, so pipe-run dies of it too (cooperative exit)
    assert shell_status(proc.wait(timeout=30)) == 143
    assert (in_tmp / "out").read_text() == kept
    report = json.loads((in_tmp / "report.json").read_text())
    assert (report["status"], report["received_signal"], report["timed_out"]) == (143, "SIGTERM", False)
    first, second = report["stages"]
    assert (first["stopped_by"], first["signals_sent"]) == ("signal", ["SIGTERM"])
    if options:  # all at once: grep too, before it could flush
        assert (second["stopped_by"], second["signal"]) == ("signal", "SIGTERM")
    else:  # grep got end-of-file and ended on its own
        assert (second["stopped_by"], second["status"], second["signals_sent"]) == (None, 0, [])


# Handles TERM: notes each one in a file and goes on.
NOTE_TERMS = """
import signal
signal.signal(signal.SIGTERM, lambda *_: open("terms", "a").write("TERM\\n"))
print("READY", flush=True)
while True:
    signal.pause()
"""


def test_a_second_signal_during_a_graceful_stop_goes_to_every_stage(in_tmp, janitor):
    # cat's turn would come 30 s after the first stage's TERM: a second TERM does not wait.
    (in_tmp / "stage1.py").write_text(NOTE_TERMS)
    proc = janitor.popen([PIPE_RUN, "--stage-grace", "30", "--report", "json", "--report-file", "report.json",
                          f"{PYTHON} stage1.py", "cat"], stdout=subprocess.PIPE)
    assert proc.stdout.readline() == b"READY\n"
    cat = child_named(proc.pid, "cat")
    proc.send_signal(signal.SIGTERM)
    wait_for(lambda: (in_tmp / "terms").exists() and (in_tmp / "terms").read_text() == "TERM\n", 20,
             "the first TERM to reach the first stage")
    assert alive(cat)
    proc.send_signal(signal.SIGTERM)
    wait_for(lambda: not alive(cat), 20, "cat to end")
    wait_for(lambda: (in_tmp / "terms").read_text() == "TERM\nTERM\n", 20, "the second TERM")
    first_stage = [pid for pid in children_of(proc.pid) if pid != cat and alive(pid)]
    assert len(first_stage) == 1  # it handled both TERMs and goes on
    os.kill(first_stage[0], signal.SIGKILL)
    assert shell_status(proc.wait(timeout=30)) == 143  # cat died of TERM
    first, second = json.loads((in_tmp / "report.json").read_text())["stages"]
    assert first["signals_sent"] == ["SIGTERM", "SIGTERM"] and first["signal"] == "SIGKILL"
    assert (second["signals_sent"], second["signal"]) == (["SIGTERM"], "SIGTERM")


# Says DEADLINE on the first TERM; on the second, dies of it.
TERM_TWICE = """\
import os, signal, sys, time
def first(signum, frame):
    print("DEADLINE", flush=True)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
signal.signal(signal.SIGTERM, first)
print("READY", flush=True)
while True:
    time.sleep(60)
"""


def test_a_signal_received_after_the_deadline_still_exits_124(in_tmp, janitor):
    # coreutils timeout: once timed out, 124 wins over the cooperative exit
    # (the stage dies of TERM, but of the one pipe-run passed on, after the deadline's).
    (in_tmp / "stage.py").write_text(TERM_TWICE)
    proc = janitor.popen([PIPE_RUN, "--timeout", "0.3", "--report", "json", "--report-file", "report.json",
                          f"{PYTHON} stage.py"], stdout=subprocess.PIPE)
    assert proc.stdout.readline() == b"READY\n"
    assert proc.stdout.readline() == b"DEADLINE\n"  # the deadline's TERM was taken
    proc.send_signal(signal.SIGTERM)  # passed on: the stage dies of it
    assert shell_status(proc.wait(timeout=30)) == 124
    report = json.loads((in_tmp / "report.json").read_text())
    assert (report["status"], report["timed_out"], report["received_signal"]) == (124, True, "SIGTERM")
    assert report["stages"][0]["signal"] == "SIGTERM"
