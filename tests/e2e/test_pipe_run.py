"""End-to-end tests: the installed pipe-run console script, as a user runs it."""

import json
import os
import signal
import subprocess
import sys
import time

import pexpect
import pytest

from conftest import alive, children_of, proc_stat, run, script, shell_status, wait_for

PIPE_RUN = script("pipe-run")


def pipe_run(*args, **kwargs):
    return run([PIPE_RUN, *args], **kwargs)


def assert_one_line_error(result, code, *needles):
    err = result.stderr.decode()
    assert result.returncode == code, (result.returncode, err)
    assert err.startswith("pipe-run: "), err
    assert "Traceback" not in err
    first = err.splitlines()[0]
    for needle in needles:
        assert needle in first, (needle, first)


def sleeping_children(pid, count):
    def ready():
        kids = children_of(pid)
        names = [proc_stat(k)[0] for k in kids if proc_stat(k)]
        return kids if names.count("sleep") == count else None
    return wait_for(ready, 15, f"{count} sleep stages of {pid}")


def test_ls_wc_matches_the_shell(in_tmp):
    for name in "abc":
        (in_tmp / name).write_text("")
    ours = pipe_run("ls", "wc -l")
    theirs = run(["bash", "-c", "ls | wc -l"])
    assert ours.returncode == 0 and ours.stdout == theirs.stdout == b"3\n"


@pytest.mark.timeout(20)
def test_yes_head_ends_at_once_and_pipefail_says_141():
    result = pipe_run("yes", "head -1")
    assert (result.returncode, result.stdout, result.stderr) == (0, b"y\n", b"")
    assert pipe_run("--pipefail", "yes", "head -1").returncode == 141


def test_stages_see_the_signal_state_and_fds_a_shell_child_sees():
    probe = "sh -c 'grep -E \"^Sig(Ign|Blk)\" /proc/self/status; ls /proc/self/fd'"
    ours = pipe_run(probe, "cat")
    theirs = run(["bash", "-c", f"{probe} | cat"])
    assert ours.returncode == 0
    assert ours.stdout == theirs.stdout
    assert b"SigBlk:\t0000000000000000" in ours.stdout


def test_signals_ignored_when_we_started_stay_ignored():
    # Like nohup: SIGHUP ignored by our parent stays ignored in every stage.
    result = run([PIPE_RUN, "grep SigIgn /proc/self/status", "cat"],
                 preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN))
    ignored = int(result.stdout.split()[1], 16)
    assert ignored & (1 << (signal.SIGHUP - 1))
    assert not ignored & (1 << (signal.SIGPIPE - 1))


def test_waits_for_every_stage_not_just_the_last(in_tmp):
    result = pipe_run("sh -c 'sleep 0.5; echo done > marker'", "true")
    assert result.returncode == 0
    assert (in_tmp / "marker").read_text() == "done\n"


def test_works_with_our_own_stdin_closed():
    result = run(["bash", "-c", f'{PIPE_RUN} "echo hi" cat <&-'])
    assert (result.returncode, result.stdout) == (0, b"hi\n")


def test_works_with_stdout_and_stderr_closed_too(in_tmp):
    result = run(["bash", "-c", f'{PIPE_RUN} -o out "echo hi" cat <&- 2>&-'])
    assert result.returncode == 0 and (in_tmp / "out").read_text() == "hi\n"


def test_a_hundred_stages_move_data():
    result = pipe_run("seq 10000", *["cat"] * 98, "wc -l", timeout=60)
    assert (result.returncode, result.stdout) == (0, b"10000\n")


def test_not_found_127_and_the_others_still_run(in_tmp):
    result = pipe_run("no-such-cmd-pyipc", "touch ran")
    assert result.returncode == 0 and (in_tmp / "ran").exists()
    assert_one_line_error(result, 0, "no-such-cmd-pyipc", "command not found")
    assert pipe_run("true", "no-such-cmd-pyipc").returncode == 127
    assert pipe_run("--pipefail", "no-such-cmd-pyipc", "true").returncode == 127


def test_not_executable_126(in_tmp):
    assert_one_line_error(pipe_run("true", str(in_tmp)), 126, str(in_tmp), "Is a directory")
    (in_tmp / "plain").write_text("x")
    assert_one_line_error(pipe_run("true", "./plain"), 126, "./plain", "Permission denied")
    # a path through a file (ENOTDIR) is final: 126, as bash says, not a PATH miss
    assert_one_line_error(pipe_run("true", "./plain/x"), 126, "./plain/x", "Not a directory")


def test_killed_stage_gives_128_plus_n():
    assert pipe_run("true", "sh -c 'kill -TERM $$'").returncode == 143
    assert pipe_run("true", "sh -c 'kill -KILL $$'").returncode == 137


@pytest.mark.parametrize("args, needle", [
    ([], "missing argument"),
    ([""], "empty command"),
    (["true", "   "], "empty command"),
    (["echo 'unbalanced"], "no closing quotation"),
    (["--timeout", "5x", "true"], "invalid duration '5x'"),
    (["--timeout", "-1", "true"], "invalid duration '-1'"),
    (["--timeout", "1", "--kill-after", "soon", "true"], "invalid duration 'soon'"),
    (["--signal", "NOPE", "true"], "unknown signal 'NOPE'"),
    (["--report", "xml", "true"], "xml"),
    (["--bogus", "true"], "no such option: --bogus"),
    (["-o", "a", "-a", "b", "true"], "--output and --append"),
    (["--cycle", "-i", "x", "true"], "--cycle"),
])
def test_usage_errors_exit_2_with_one_line(in_tmp, args, needle):
    result = pipe_run(*args)
    assert_one_line_error(result, 2, needle)
    lines = result.stderr.decode().splitlines()
    assert len(lines) <= 2 and (len(lines) == 1 or "--help" in lines[1])
    assert list(in_tmp.iterdir()) == []  # nothing created


def test_missing_input_starts_no_stage_and_creates_nothing(in_tmp):
    result = pipe_run("-i", "missing", "-o", "out", "touch started", "cat")
    assert_one_line_error(result, 1, "cannot open 'missing'", "No such file or directory")
    assert not (in_tmp / "started").exists() and not (in_tmp / "out").exists()


def test_directory_as_input_is_refused(in_tmp):
    (in_tmp / "d").mkdir()
    assert_one_line_error(pipe_run("-i", "d", "touch started"), 1, "'d'", "Is a directory")
    assert not (in_tmp / "started").exists()


def test_unopenable_output_starts_no_stage(in_tmp):
    (in_tmp / "d").mkdir()
    assert_one_line_error(pipe_run("-o", "d", "touch started"), 1, "cannot open 'd'")
    assert not (in_tmp / "started").exists()


def test_input_output_append(in_tmp):
    (in_tmp / "in").write_text("b\na\n")
    (in_tmp / "out").write_text("old content that is longer\n")
    assert pipe_run("-i", "in", "-o", "out", "sort").returncode == 0
    assert (in_tmp / "out").read_text() == "a\nb\n"
    assert pipe_run("-i", "in", "-a", "out", "cat").returncode == 0
    assert (in_tmp / "out").read_text() == "a\nb\nb\na\n"


def test_input_that_is_also_the_output_is_not_clobbered(in_tmp):
    (in_tmp / "f").write_text("precious\n")
    result = pipe_run("-i", "f", "-o", "f", "cat")
    assert_one_line_error(result, 1, "'f'", "input and the output")
    assert (in_tmp / "f").read_text() == "precious\n"


def test_merge_stderr():
    result = pipe_run("--merge-stderr", "sh -c 'echo out; echo err >&2'", "sort")
    assert (result.stdout, result.stderr) == (b"err\nout\n", b"")
    last = pipe_run("--merge-stderr", "true", "sh -c 'echo last >&2'")
    assert (last.stdout, last.stderr) == (b"", b"last\n")


def test_timeout_stops_every_stage_with_124(in_tmp):
    result = pipe_run("--timeout", "0.3", "--report", "json", "sleep 30", "sleep 30")
    assert result.returncode == 124
    report = json.loads(result.stderr)
    assert [s["signal"] for s in report["stages"]] == ["SIGTERM", "SIGTERM"]
    assert [s["status"] for s in report["stages"]] == [143, 143]
    assert not any(alive(s["pid"]) for s in report["stages"])


def test_timeout_ends_a_stopped_stage_too(janitor):
    # The deadline's TERM is followed by CONT (as coreutils timeout does): a
    # stopped stage would keep the TERM pending, and pipe-run would wait forever.
    proc = janitor.popen([PIPE_RUN, "--timeout", "0.5", "sleep 30", "cat"])
    kids = sleeping_children(proc.pid, 1)
    sleeper = [k for k in kids if proc_stat(k)[0] == "sleep"][0]
    os.kill(sleeper, signal.SIGSTOP)
    wait_for(lambda: proc_stat(sleeper)[1] == "T", 10, "the stage stopped")
    assert proc.wait(timeout=20) == 124
    assert not alive(sleeper)


def test_a_signal_ignored_at_start_does_not_end_pipe_run(janitor):
    # nohup: HUP ignored, in pipe-run and (inherited) in its stages. pipe-run
    # used to block it, take it, and die of it after the stages ended 0.
    proc = janitor.popen([PIPE_RUN, "sleep 0.5", "cat"], preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN))
    sleeping_children(proc.pid, 1)
    os.kill(proc.pid, signal.SIGHUP)
    assert proc.wait(timeout=20) == 0


def test_timeout_signal_and_kill_after():
    result = pipe_run("--timeout", "0.2", "-s", "INT", "--report", "json", "sleep 30")
    assert result.returncode == 124 and json.loads(result.stderr)["stages"][0]["signal"] == "SIGINT"
    # Race-free: pipe-run starts with TERM blocked and its stages inherit that
    # mask, so "sleep 30" cannot act on the deadline's TERM (KILL ends it);
    # the other stage unblocks TERM, so TERM ends it whenever it came.
    unblocks = f"{sys.executable} -c 'import signal; signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGTERM]); signal.pause()'"
    result = pipe_run("--all-at-once", "--timeout", "0.2", "--kill-after", "0.2", "--report", "json", "sleep 30",
                      unblocks, preexec_fn=lambda: signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGTERM]))
    assert result.returncode == 124
    assert [s["signal"] for s in json.loads(result.stderr)["stages"]] == ["SIGKILL", "SIGTERM"]
    # Upstream first: the second stage's turn comes a grace after the first
    # one got TERM and did not end; KILL comes at --kill-after, turn or not.
    for grace, second in (("0.1", ["SIGTERM"]), ("30", ["SIGKILL"])):
        result = pipe_run("--timeout", "0.2", "--kill-after", "0.2", "--stage-grace", grace, "--report", "json",
                          "sleep 30", unblocks,
                          preexec_fn=lambda: signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGTERM]))
        assert result.returncode == 124
        stages = json.loads(result.stderr)["stages"]
        assert [s["signal"] for s in stages] == ["SIGKILL", second[0]]
        assert [s["signals_sent"] for s in stages] == [["SIGTERM", "SIGKILL"], second]


def test_timeout_zero_means_no_deadline():
    assert pipe_run("--timeout", "0", "sh -c 'exit 4'").returncode == 4


def test_text_report_and_report_file(in_tmp):
    result = pipe_run("--report", "text", "false", "sh -c 'kill -PIPE $$'")
    lines = result.stderr.decode().splitlines()
    assert result.returncode == 141
    assert lines[0].startswith("pipe-run: stage 1: pid ") and "status 1 (exited 1)" in lines[0]
    assert "status 141 (killed by SIGPIPE)" in lines[1] and lines[-1] == "pipe-run: pipeline status 141"
    result = pipe_run("--report", "json", "--report-file", "r.json", "echo x", "cat")
    assert result.stderr == b"" and result.stdout == b"x\n"
    report = json.loads((in_tmp / "r.json").read_text())
    assert report["status"] == 0 and [s["argv"] for s in report["stages"]] == [["echo", "x"], ["cat"]]
    assert all(isinstance(s["pid"], int) and s["wall_s"] >= 0 for s in report["stages"])


def test_trace_shows_each_step():
    result = pipe_run("--trace", "echo hi", "tr a-z A-Z")
    err = result.stderr.decode()
    assert result.stdout == b"HI\n"
    for step in ("pipe() = [", "fork() = ", "dup2(", ", 1)", ", 0)", "execve(", "close(", "waitpid("):
        assert step in err, step
    assert all(line.startswith("pipe-run: [pid ") for line in err.splitlines())


def test_cycle_lets_two_processes_talk(in_tmp):
    result = pipe_run("--cycle", "sh -c 'echo ping; read reply; echo \"$reply\" > out'", "sh -c 'read m; echo pong:$m'")
    assert result.returncode == 0 and (in_tmp / "out").read_text() == "pong:ping\n"


def test_shell_option():
    assert pipe_run("--shell", "echo a b | tr a A", "cat").stdout == b"A b\n"
    assert pipe_run("echo $HOME", "cat").stdout == b"$HOME\n"


def test_version_and_help():
    assert pipe_run("--version").stdout.decode().startswith("pipe-run (pyipc) ")
    out = pipe_run("--help").stdout.decode()
    assert out.startswith("Usage: pipe-run [OPTIONS] STAGE [STAGE...]")
    assert "--pipefail" in out


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_signals_sent_to_pipe_run_reach_every_stage(janitor, signum):
    proc = janitor.popen([PIPE_RUN, "sleep 30", "sleep 30"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         start_new_session=True)  # SIGINT is not ignored there, as in a `&` job
    kids = sleeping_children(proc.pid, 2)
    os.kill(proc.pid, signum)
    assert proc.wait(timeout=10) == -signum, proc.stderr.read()
    assert not any(alive(k) for k in kids)


# -- terminal tests (pexpect) -----------------------------------------------------

def test_typed_lines_come_back_through_the_pipeline():
    child = pexpect.spawn(PIPE_RUN, ["cat", "tr a-z A-Z"], timeout=10)
    try:
        child.sendline("hello pipes")
        child.expect("HELLO PIPES")
        child.sendeof()
        child.expect(pexpect.EOF)
        child.wait()
        assert child.exitstatus == 0
    finally:
        child.close(force=True)


def test_ctrl_c_report_says_every_stage_was_stopped_by_the_signal(tmp_path):
    # Each stage has the SIGINT from the terminal; one may die and be reaped
    # before pipe-run takes its own: it was stopped by the signal all the same.
    report = tmp_path / "report.json"
    for _ in range(3):
        child = pexpect.spawn(PIPE_RUN, ["--report", "json", "--report-file", str(report), "sleep 30", "sleep 30"],
                              timeout=10)
        try:
            sleeping_children(child.pid, 2)
            child.sendintr()
            child.expect(pexpect.EOF, timeout=10)
            child.wait()
        finally:
            child.close(force=True)
        assert child.signalstatus == signal.SIGINT
        stages = json.loads(report.read_text())["stages"]
        assert [(stage["signal"], stage["stopped_by"]) for stage in stages] == [("SIGINT", "signal")] * 2


def test_ctrl_c_ends_pipe_run_by_sigint_with_no_stage_left():
    child = pexpect.spawn(PIPE_RUN, ["sleep 30", "sleep 30"], timeout=10)
    try:
        kids = sleeping_children(child.pid, 2)
        started = time.monotonic()
        child.sendintr()
        child.expect(pexpect.EOF, timeout=5)
        child.wait()
        assert time.monotonic() - started < 2.0  # the issue asks "within a second"; slack for noisy machines
        assert (child.signalstatus, child.exitstatus) == (signal.SIGINT, None), child.before
        assert not any(alive(k) for k in kids)
    finally:
        child.close(force=True)


def test_ctrl_c_stops_a_calling_shell_loop():
    loop = f'for i in 1 2 3; do {PIPE_RUN} "sleep 30"; echo "next $i"; done; echo loop-finished'
    child = pexpect.spawn("bash", ["--norc", "--noprofile", "-c", loop], timeout=10)
    try:
        sleeping_children(wait_for(lambda: children_of(child.pid), 10, "pipe-run")[0], 1)
        child.sendintr()
        child.expect(pexpect.EOF, timeout=5)
        assert b"next" not in child.before and b"loop-finished" not in child.before
        child.wait()
        assert shell_status(-child.signalstatus if child.signalstatus else child.exitstatus) == 130
    finally:
        child.close(force=True)


def test_closed_stdout_gives_a_write_error_not_a_traceback():
    result = run(["bash", "-c", f"{PIPE_RUN} --version >&-"])
    assert_one_line_error(result, 1, "write error", "Bad file descriptor")


def test_huge_timeout_is_clamped_like_coreutils():
    assert pipe_run("--timeout", "99999999999999999999999d", "true").returncode == 0


def test_non_utf8_names_are_reported_as_the_bytes_given():
    result = run([PIPE_RUN.encode(), b"\xff\xfe"])
    assert result.returncode == 127
    assert result.stderr == b"pipe-run: \xff\xfe: command not found\n"
