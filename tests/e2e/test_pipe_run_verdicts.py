"""End-to-end: honest pipefail and per-stage verdicts (issue 15).

--pipefail-sigpipe-ok forgives a stage's SIGPIPE when, and only when, the
stage it writes to had exited or closed its stdin: both sides are proven
here, with SIGPIPEs from the stage's own pipe, from an inner pipe, from a
socket, and with no pipe at all. --report gives each stage's status, signal,
who stopped it, rusage and /proc/PID/io counters."""

import json
import os
import signal
import subprocess

import pytest

from conftest import ENV, PYTHON, SCRIPTS, alive, children_of, proc_stat, run, script, wait_for
from man_examples import covers
from pyipc.commands import pipe_run as pipe_run_command

PIPE_RUN = script("pipe-run")
SHELL_ENV = dict(ENV, PATH=f"{SCRIPTS}:{ENV.get('PATH', '/usr/bin:/bin')}")

pytestmark = pytest.mark.timeout(60)


def pipe_run(*args, **kwargs):
    return run([PIPE_RUN, *args], **kwargs)


def report_of(result) -> dict:
    return json.loads(result.stderr)


# The stage itself dies of SIGPIPE writing to a pipe (or socket) of its own
# whose reader is gone, while the next stage (cat) still reads its stdin.
INNER_PIPE = (f"{PYTHON} -c \"import os, signal; signal.signal(signal.SIGPIPE, signal.SIG_DFL); "
              f"r, w = os.pipe(); os.close(r); os.write(w, b'x')\"")
INNER_SOCKET = (f"{PYTHON} -c \"import signal, socket; signal.signal(signal.SIGPIPE, signal.SIG_DFL); "
                f"a, b = socket.socketpair(); b.close(); a.send(b'x')\"")


# -- honest pipefail ---------------------------------------------------------------------

def test_yes_head_is_0_with_sigpipe_ok_and_141_with_plain_pipefail():
    result = pipe_run("--pipefail-sigpipe-ok", "--report", "json", "yes", "head -1")
    assert (result.returncode, result.stdout) == (0, b"y\n")
    report = report_of(result)
    yes, head = report["stages"]
    assert (yes["status"], yes["signal"], yes["sigpipe_forgiven"]) == (141, "SIGPIPE", True)
    assert (head["status"], head["sigpipe_forgiven"]) == (0, False)
    assert (report["status"], report["pipeline_status"], report["pipefail"], report["sigpipe_ok"]) == (0, 0, True, True)
    # bash's behaviour, unchanged: --pipefail alone still says 141
    result = pipe_run("--pipefail", "--report", "json", "yes", "head -1")
    assert result.returncode == 141
    assert [s["sigpipe_forgiven"] for s in report_of(result)["stages"]] == [False, False]


# Closes its stdin, says so, and exits 0 on SIGUSR1.
CLOSE_STDIN = (f"{PYTHON} -c \"import os, signal; signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR1]); "
               f"os.close(0); print('CLOSED', flush=True); signal.sigwait([signal.SIGUSR1])\"")


@covers("pipe-run", 'pipe-run --pipefail-sigpipe-ok "yes" "head -1"')
def test_the_man_page_sigpipe_ok_example():
    (text,) = [text for text, _ in pipe_run_command.MANUAL["examples"] if "--pipefail-sigpipe-ok" in text]
    assert text == 'pipe-run --pipefail-sigpipe-ok "yes" "head -1"'
    result = run(["bash", "-c", text], env=SHELL_ENV)
    assert (result.returncode, result.stdout, result.stderr) == (0, b"y\n", b"")


def test_a_reader_that_closed_its_stdin_but_still_runs_forgives_too(janitor):
    proc = janitor.popen([PIPE_RUN, "--pipefail-sigpipe-ok", "--report", "json", "yes", CLOSE_STDIN],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout.readline() == b"CLOSED\n"
    # yes was started first (pipe-run starts the stages in order): once it
    # has died of SIGPIPE and been reaped, only the reader is left, still running.
    def only_the_reader_left():
        kids = children_of(proc.pid)  # zombies included: yes until it is reaped
        return kids[0] if len(kids) == 1 and alive(kids[0]) and proc_stat(kids[0])[0] != "yes" else None

    reader = wait_for(only_the_reader_left, 20, "yes to be reaped")
    os.kill(reader, signal.SIGUSR1)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    first, second = json.loads(err)["stages"]
    assert (first["signal"], first["sigpipe_forgiven"], second["status"]) == ("SIGPIPE", True, 0)


@pytest.mark.parametrize("stage", [INNER_PIPE, INNER_SOCKET, "sh -c 'kill -PIPE $$'"],
                         ids=["inner pipe", "socket", "no pipe at all"])
def test_a_sigpipe_while_the_reader_still_reads_still_fails(stage):
    result = pipe_run("--pipefail-sigpipe-ok", "--report", "json", stage, "cat")
    assert result.returncode == 141, result.stderr
    first, second = report_of(result)["stages"]
    assert (first["status"], first["signal"], first["sigpipe_forgiven"]) == (141, "SIGPIPE", False)
    assert second["status"] == 0  # cat read on, and got end-of-file once the stage was reaped


def test_pipefail_takes_the_rightmost_failure_that_is_not_forgiven():
    # The middle stage reads to end-of-file, then becomes yes, which head ends.
    stages = ["sh -c 'exit 3'", "sh -c 'cat; exec yes'", "head -1"]
    result = pipe_run("--pipefail-sigpipe-ok", "--report", "json", *stages)
    assert result.returncode == 3
    assert [s["status"] for s in report_of(result)["stages"]] == [3, 141, 0]
    assert [s["sigpipe_forgiven"] for s in report_of(result)["stages"]] == [False, True, False]
    assert pipe_run("--pipefail", *stages).returncode == 141
    # A real SIGPIPE (its reader, cat, still read) left of a forgiven one.
    stages = ["sh -c 'kill -PIPE $$'", "sh -c 'cat; exec yes'", "head -1"]
    result = pipe_run("--pipefail-sigpipe-ok", "--report", "json", *stages)
    assert result.returncode == 141
    assert [s["sigpipe_forgiven"] for s in report_of(result)["stages"]] == [False, True, False]


def test_a_shell_stage_whose_command_died_of_sigpipe_after_its_reader_had_gone_is_forgiven():
    # With --shell (or any sh -c stage), a compound command's last command
    # killed by SIGPIPE makes sh exit 141: sh's way of saying the same thing.
    result = pipe_run("--shell", "--pipefail-sigpipe-ok", "--report", "json", "true; yes", "head -1")
    first = report_of(result)["stages"][0]
    assert (first["status"], first["signal"], first["sigpipe_forgiven"]) == (141, None, True)
    assert result.returncode == 0
    assert pipe_run("--shell", "--pipefail", "true; yes", "head -1").returncode == 141  # as bash
    # while its reader still reads, an exit 141 is a failure as before
    result = pipe_run("--pipefail-sigpipe-ok", "--report", "json", "sh -c 'sh -c \"kill -PIPE \\$\\$\"'", "cat")
    first = report_of(result)["stages"][0]
    assert (first["status"], first["signal"], first["sigpipe_forgiven"]) == (141, None, False)
    assert result.returncode == 141


def test_the_last_stages_sigpipe_is_never_forgiven():
    # Its reader is outside pipe-run (here: the calling shell's head), which cannot see it.
    result = run(["bash", "-c", f'"{PIPE_RUN}" --pipefail-sigpipe-ok "echo go" yes | head -1; '
                                'echo "${PIPESTATUS[0]}" >&2'])
    assert result.stdout == b"y\n"
    assert result.stderr.decode().split()[-1] == "141"


def test_sigpipe_ok_with_a_cycle():
    # The last stage writes to the first: that pipe is pipe-run's too.
    result = pipe_run("--cycle", "--pipefail-sigpipe-ok", "--report", "json", "head -1", "yes")
    assert result.returncode == 0
    assert [s["sigpipe_forgiven"] for s in report_of(result)["stages"]] == [False, True]


def test_trace_tells_why_a_sigpipe_was_forgiven():
    err = pipe_run("--trace", "--pipefail-sigpipe-ok", "yes", "head -1").stderr.decode()
    assert "until stage 1 is reaped" in err
    assert "killed by SIGPIPE  (SIGPIPE forgiven" in err


# -- the report ----------------------------------------------------------------------------

def test_json_report_gives_each_stages_verdict():
    result = pipe_run("--report", "json", "echo hello", "cat")
    assert (result.returncode, result.stdout) == (0, b"hello\n")
    report = report_of(result)
    assert {"status": 0, "pipeline_status": 0, "timed_out": False, "killed": False, "received_signal": None,
            "pipefail": False, "sigpipe_ok": False}.items() <= report.items()
    echo, cat = report["stages"]
    for stage in (echo, cat):
        assert (stage["status"], stage["signal"], stage["stopped_by"], stage["signals_sent"]) == (0, None, None, [])
        assert stage["sigpipe_forgiven"] is False
        assert stage["wall_s"] >= 0 and stage["cpu_s"] >= 0 and stage["user_s"] >= 0 and stage["sys_s"] >= 0
        assert isinstance(stage["max_rss_kib"], int) and stage["max_rss_kib"] > 0
    # /proc/PID/io, read just before each was reaped: what each wrote exactly;
    # cat read at least what echo wrote (and the loader's reads of its libraries)
    assert echo["bytes_written"] == 6 and cat["bytes_written"] == 6
    assert cat["bytes_read"] >= 6


def test_json_report_of_a_deadline_says_124_and_who_was_stopped():
    result = pipe_run("--timeout", "0.2", "--report", "json", "sleep 30", "cat")
    assert result.returncode == 124
    report = report_of(result)
    assert (report["status"], report["timed_out"], report["pipeline_status"]) == (124, True, 0)
    sleep, cat = report["stages"]
    assert (sleep["status"], sleep["stopped_by"], sleep["signals_sent"]) == (143, "deadline", ["SIGTERM"])
    assert (cat["status"], cat["stopped_by"]) == (0, None)


def test_text_report_gives_each_stages_verdict():
    result = pipe_run("--pipefail-sigpipe-ok", "--timeout", "30", "--report", "text", "yes", "head -1")
    lines = result.stderr.decode().splitlines()
    assert result.returncode == 0
    assert "status 141 (killed by SIGPIPE) [SIGPIPE forgiven: its reader had gone]" in lines[0]
    for line in lines[:2]:
        assert " wall, " in line and " cpu, max rss " in line and ", read " in line and ", wrote " in line
    assert lines[1].endswith(", wrote 2 B: head -1")
    assert lines[-1] == "pipe-run: pipeline status 0 (pipefail, sigpipe-ok)"
    result = pipe_run("--timeout", "0.2", "--report", "text", "sleep 30", "cat")
    lines = result.stderr.decode().splitlines()
    assert "status 143 (killed by SIGTERM) [stopped by the deadline: sent SIGTERM] " in lines[0]
    assert "status 0 (exited 0) " in lines[1] and "[" not in lines[1]
    assert lines[-1] == "pipe-run: pipeline status 0 (deadline: exit 124)"


def test_text_report_quotes_each_argv_as_sh_would_read_it():
    # "sh -c echo a b" would not say where sh's -c argument ends
    result = pipe_run("--report", "text", "--wait-all", "sh -c 'echo a b; sleep 0.1 &'", "cat")
    lines = result.stderr.decode().splitlines()
    assert lines[0].endswith(": sh -c 'echo a b; sleep 0.1 &'"), lines[0]
    assert lines[1].endswith(": cat")
    # the background sleep, whose argv is read when it is adopted: before or after its exec
    assert lines[2].startswith("pipe-run: adopted: pid "), lines[2]
    assert lines[2].endswith((": sleep 0.1", ": sh -c 'echo a b; sleep 0.1 &'")), lines[2]


def test_a_stage_that_never_started_has_no_usage():
    result = pipe_run("--report", "json", "no-such-command-here", "cat")
    assert result.returncode == 0
    missing = json.loads(result.stderr.splitlines()[-1])["stages"][0]
    assert missing["status"] == 127
    assert (missing["cpu_s"], missing["max_rss_kib"], missing["bytes_read"], missing["bytes_written"]) == \
        (None, None, None, None)
