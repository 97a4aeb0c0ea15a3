"""pipe-run --label: whose stderr is this line (end to end, the installed command)."""

import json
import os
import signal
import socket
import subprocess
import time

from conftest import blocked_writing_a_pipe, children_of, run, script, wait_for

PIPE_RUN = script("pipe-run")


def pipe_run(*args, **kwargs):
    return run([PIPE_RUN, *args], **kwargs)


def test_each_stage_line_is_labelled_with_its_number_and_program():
    result = pipe_run("--label", "sh -c 'echo one >&2; echo data; printf partial >&2'",
                      "sh -c 'cat; echo two >&2'", "/usr/bin/env grep -x data")
    assert result.returncode == 0
    assert result.stdout == b"data\n"
    lines = result.stderr.decode().splitlines()
    assert sorted(lines) == ["[1 sh] one", "[1 sh] partial", "[2 sh] two"], lines
    assert lines.index("[1 sh] one") < lines.index("[1 sh] partial")


def test_without_label_the_stages_inherit_our_stderr_itself(tmp_path):
    read_end, write_end = os.pipe()
    try:
        ours = f"pipe:[{os.fstat(write_end).st_ino}]"
        plain = pipe_run("readlink /proc/self/fd/2", "cat", stderr=write_end)
        labelled = pipe_run("--label", "readlink /proc/self/fd/2", "cat", stderr=write_end)
    finally:
        os.close(write_end)
        os.close(read_end)
    assert plain.stdout.decode().strip() == ours
    assert labelled.stdout.decode().strip() not in ("", ours)


def test_every_labelled_line_goes_out_whole_in_one_write():
    # stderr is a SOCK_SEQPACKET socket: each write(2) arrives as one message.
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    writer = "python3 -c \"import sys\nfor i in range(3000): sys.stderr.write('%d %s\\\\n' % (i, '{0}' * (i % 250)))\""
    stages = [writer.format(c) for c in "abc"]
    proc = subprocess.Popen([PIPE_RUN, "--label", *stages], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=theirs.fileno())
    theirs.close()
    messages = []
    try:
        while True:
            data = ours.recv(1 << 20)
            if not data:
                break
            messages.append(data)
    finally:
        ours.close()
        assert proc.wait(timeout=60) == 0
    per_stage = {1: [], 2: [], 3: []}
    for message in messages:
        assert message.endswith(b"\n"), message[-80:]
        for line in message.decode().splitlines():
            label, _, text = line.partition("] ")
            number = int(label.split()[0].lstrip("["))
            assert label == f"[{number} python3", line[:60]
            per_stage[number].append(text)
    for number, letter in zip((1, 2, 3), "abc"):
        assert per_stage[number] == ["%d %s" % (i, letter * (i % 250)) for i in range(3000)]


def test_a_long_line_and_a_last_line_without_newline():
    result = pipe_run("--label", "python3 -c \"import sys; sys.stderr.write('x' * 40000 + '\\nend')\"")
    assert result.returncode == 0
    lines = result.stderr.split(b"\n")
    assert lines == [b"[1 python3] " + b"x" * 16384, b"[1 python3] " + b"x" * 16384,
                     b"[1 python3] " + b"x" * 7232, b"[1 python3] end", b""]


def test_trace_lines_stay_whole_and_unlabelled():
    result = pipe_run("--label", "--trace", "sh -c 'echo one >&2; echo data'", "sh -c 'cat >/dev/null; echo two >&2'")
    assert result.returncode == 0
    lines = result.stderr.decode().splitlines()
    assert "[1 sh] one" in lines and "[2 sh] two" in lines
    assert all(line.startswith(("pipe-run: [pid ", "[1 sh] ", "[2 sh] ")) for line in lines), lines
    assert any("(stage 1's stderr, to label)" in line for line in lines)


def test_a_stage_that_cannot_start_is_reported_and_the_others_labelled():
    result = pipe_run("--label", "no-such-command-here", "sh -c 'echo x >&2'")
    assert result.returncode == 0
    assert sorted(result.stderr.decode().splitlines()) == ["[2 sh] x", "pipe-run: no-such-command-here: command not found"]


def test_shell_stages_are_named_by_their_first_word():
    result = pipe_run("--label", "--shell", "LC_ALL=C ls /nonexistent-x 2>&1 >&2 | cat >&2")
    assert result.stderr.decode().startswith("[1 ls] "), result.stderr


def test_label_and_merge_stderr_are_a_usage_error():
    result = pipe_run("--label", "--merge-stderr", "true", "true")
    assert result.returncode == 2
    assert result.stderr.decode().startswith("pipe-run: --label and --merge-stderr cannot be used together")


def test_what_a_stage_left_behind_does_not_keep_pipe_run_waiting(janitor, tmp_path):
    report = tmp_path / "report.json"
    result = pipe_run("--label", "--report", "json", "--report-file", str(report),
                      "sh -c 'sleep 30 & echo hi >&2'", "true", timeout=20)
    left = [entry["pid"] for entry in json.loads(report.read_text())["adopted"] if entry.get("running")]
    for pid in left:
        janitor.track(pid)
    assert result.returncode == 0
    assert result.stderr == b"[1 sh] hi\n"
    assert left  # the sleep still held the stderr pipe when pipe-run ended


def test_with_wait_all_what_was_left_behind_is_labelled_too():
    result = pipe_run("--label", "--wait-all", "sh -c '(sleep 0.3; echo late >&2) & echo early >&2'", "true")
    assert result.returncode == 0
    assert result.stderr == b"[1 sh] early\n[1 sh] late\n"


def test_a_closed_stderr_is_no_error():
    result = run(["bash", "-c", f"{PIPE_RUN} --label \"sh -c 'echo x >&2; echo out'\" cat 2>&-"])
    assert (result.returncode, result.stdout) == (0, b"out\n")


def test_stderr_nobody_reads_any_more_gives_sigpipe_as_without_label():
    for extra in ([], ["--label"]):
        read_end, write_end = os.pipe()
        os.close(read_end)
        try:
            result = pipe_run(*extra, "--pipefail", "sh -c 'echo x >&2; echo after'", "cat", stderr=write_end)
        finally:
            os.close(write_end)
        assert (result.returncode, result.stdout) == (141, b""), extra  # sh died of SIGPIPE writing "x"


def test_a_stuck_stderr_does_not_stop_the_deadline_or_forwarded_signals(janitor):
    read_end, write_end = os.pipe()  # nobody ever reads it
    try:
        result = pipe_run("--label", "--timeout", "1", "sh -c 'yes errr >&2'", "cat", stderr=write_end, timeout=20)
        assert result.returncode == 124
        proc = janitor.popen([PIPE_RUN, "--label", "sh -c 'exec yes errr >&2'", "cat"], stdout=subprocess.DEVNULL,
                             stderr=write_end)
        stage = wait_for(lambda: [pid for pid in children_of(proc.pid) if blocked_writing_a_pipe(pid)], 15,
                         "the stage blocked on its full stderr pipe")[0]
        assert stage
        time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == -signal.SIGTERM
    finally:
        os.close(write_end)
        os.close(read_end)
