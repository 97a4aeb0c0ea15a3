"""End-to-end tests: the installed reap-watch console script, as a user runs it."""

import json
import os
import shlex
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from conftest import PYTHON, holds_pidfd, proc_stat, proc_status, run, script, shell_status, wait_for
import man_examples
from man_examples import covers

REAP_WATCH = script("reap-watch")


def reap_watch(*args, **kwargs):
    return run([REAP_WATCH, *args], **kwargs)


def all_pids():
    return [int(entry) for entry in os.listdir("/proc") if entry.isdigit()]


def zombies_of(parents):
    """Zombies whose parent is one of parents (the conftest helpers read
    /proc/PID/task/*/children, which not every kernel has: scan /proc)."""
    found = []
    for pid in all_pids():
        stat = proc_stat(pid)
        if stat and stat[1] == "Z" and stat[2] in parents:
            found.append(pid)
    return found


def kids_of(parent):
    out = []
    for pid in all_pids():
        stat = proc_stat(pid)
        if stat and stat[2] == parent:
            out.append(pid)
    return out


def tree_of(root):
    out, todo = [], [root]
    while todo:
        for kid in kids_of(todo.pop()):
            out.append(kid)
            todo.append(kid)
    return out


def json_lines(text):
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def assert_one_line_error(result, code, *needles):
    err = result.stderr.decode()
    assert result.returncode == code, (result.returncode, err)
    assert err.startswith("reap-watch: "), err
    assert "Traceback" not in err
    first = err.splitlines()[0]
    for needle in needles:
        assert needle in first, (needle, first)


def write_script(path, text):
    path.write_text(text)
    return f"{PYTHON} {path}"


# -- how each process ended -----------------------------------------------------

@pytest.mark.timeout(20)
def test_exit_3_is_reported_and_returned(in_tmp):
    result = reap_watch("sh -c 'exit 3'")
    err = result.stderr.decode()
    assert result.returncode == 3, err
    assert "(sh): exited 3 (after " in err and "cpu " in err
    assert len(err.splitlines()) == 1


@pytest.mark.timeout(20)
def test_killed_by_kill_gives_137(in_tmp):
    result = reap_watch("sh -c 'kill -KILL $$'")
    assert result.returncode == 137
    assert "killed by SIGKILL" in result.stderr.decode()


@pytest.mark.timeout(20)
def test_exit_status_is_the_first_failing_child_in_command_line_order(in_tmp):
    # The second command fails first in time; the first one still decides.
    result = reap_watch("sh -c 'sleep 0.3; exit 4'", "sh -c 'exit 9'", "true", "--json")
    assert result.returncode == 4
    deaths = json_lines(result.stderr.decode())
    assert sorted(d["exit_code"] for d in deaths) == [0, 4, 9]
    assert {tuple(d["argv"]) for d in deaths} == {("sh", "-c", "sleep 0.3; exit 4"), ("sh", "-c", "exit 9"), ("true",)}
    assert reap_watch("true", "sh -c 'exit 0'").returncode == 0


@pytest.mark.timeout(20)
def test_core_dump_is_reported(in_tmp):
    # Whether a core is written depends on the machine; the signal does not.
    result = reap_watch("--json", "sh -c 'kill -SEGV $$'")
    assert result.returncode == 139
    (death,) = json_lines(result.stderr.decode())
    assert (death["signal"], death["status"], death["exit_code"]) == ("SIGSEGV", 139, None)
    assert isinstance(death["core_dumped"], bool)


@pytest.mark.timeout(30)
def test_five_orphaned_grandchildren_are_adopted_and_reaped_with_wait_all(in_tmp, janitor):
    # Each (sleep &) subshell exits at once: its sleep is orphaned below reap-watch.
    proc = janitor.popen([REAP_WATCH, "--wait-all", "--json", "-o", "deaths.jsonl",
                          "sh -c 'for i in 1 2 3 4 5; do (sleep 0.5 &); done'"])
    assert proc.wait(timeout=20) == 0
    deaths = json_lines((in_tmp / "deaths.jsonl").read_text())
    adopted = [d for d in deaths if d["adopted"]]
    direct = [d for d in deaths if not d["adopted"]]
    assert len(adopted) == 5 and len({d["pid"] for d in adopted}) == 5
    assert all(d["name"] == "sleep" and d["argv"] is None and d["status"] == 0 for d in adopted)
    assert all(d["wall_s"] >= 0.4 for d in adopted)  # reaped after it ran, not before
    assert [d["argv"][0] for d in direct] == ["sh"]
    # Reaped: none of them is left, as a zombie or otherwise.
    assert not [d["pid"] for d in adopted if proc_stat(d["pid"]) and proc_stat(d["pid"])[0] == "sleep"]


@pytest.mark.timeout(30)
def test_without_wait_all_adopted_processes_still_running_are_left_to_run(in_tmp, janitor):
    job = "sh -c '(sleep 30 & echo $! > orphan.pid)'"
    proc = janitor.popen([REAP_WATCH, "--json", "-o", "deaths.jsonl", job])
    assert proc.wait(timeout=20) == 0
    orphan = int((in_tmp / "orphan.pid").read_text())
    janitor.track(orphan)
    assert proc_stat(orphan)[0] == "sleep" and proc_stat(orphan)[1] != "Z"
    deaths = json_lines((in_tmp / "deaths.jsonl").read_text())
    assert deaths[0]["argv"] == ["sh", "-c", "(sleep 30 & echo $! > orphan.pid)"]
    # The report names what was left running (it used to say nothing). The
    # subshell that started sleep may be listed too if it had not exited yet,
    # and the orphan may not have exec'd sleep yet when reap-watch looked.
    left = {d["pid"]: d for d in deaths[1:]}
    assert left[orphan]["argv"] in (["sleep", "30"], ["sh", "-c", "(sleep 30 & echo $! > orphan.pid)"])
    assert all(d["running"] and d["adopted"] and d["status"] is None for d in left.values())


BURST = """\
import os, sys
count = int(sys.argv[1])
read_end, write_end = os.pipe()
for _ in range(count):
    if os.fork() == 0:
        os.close(write_end)
        os.read(read_end, 1)  # EOF once our parent has exited: all end together
        os._exit(0)
print("forked", flush=True)
"""


@pytest.mark.timeout(60)
def test_300_orphans_ending_at_once_are_all_reported_and_none_is_left_a_zombie(in_tmp, janitor):
    burst = write_script(in_tmp / "burst.py", BURST)
    proc = janitor.popen([REAP_WATCH, "--wait-all", "--json", "-o", "deaths.jsonl", f"{burst} 300"],
                         stdout=subprocess.PIPE)
    out, _ = proc.communicate(timeout=50)
    assert proc.returncode == 0
    assert out == b"forked\n"
    deaths = json_lines((in_tmp / "deaths.jsonl").read_text())
    adopted = [d for d in deaths if d["adopted"]]
    assert len(adopted) == 300 and len({d["pid"] for d in adopted}) == 300
    assert all(d["status"] == 0 for d in deaths)
    # No zombie anywhere among those pids (a reused pid would not be our zombie).
    left = [d["pid"] for d in adopted if proc_stat(d["pid"]) and proc_stat(d["pid"])[1] == "Z"]
    assert not left


@pytest.mark.timeout(60)
def test_zombies_never_pile_up_below_a_running_reap_watch(in_tmp, janitor):
    # While reap-watch runs, orphans keep ending; /proc must show none of them
    # as a zombie child of reap-watch once the burst is over.
    burst = write_script(in_tmp / "burst.py", BURST)
    proc = janitor.popen([REAP_WATCH, "-o", "deaths.txt", f"{burst} 100", "sh -c 'echo READY; exec sleep 30'"],
                         stdout=subprocess.PIPE)
    assert proc.stdout.readline() in (b"forked\n", b"READY\n")
    wait_for(lambda: (in_tmp / "deaths.txt").read_text().count("adopted") == 100, 30, "100 adopted reports")
    assert zombies_of({proc.pid}) == []
    proc.send_signal(signal.SIGTERM)
    assert shell_status(proc.wait(timeout=20)) == 143


# -- signals -----------------------------------------------------------------------

@pytest.mark.timeout(30)
def test_sigterm_ends_the_child_and_gives_143(in_tmp, janitor):
    proc = janitor.popen([REAP_WATCH, "sh -c 'echo READY; exec sleep 30'"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout.readline() == b"READY\n"
    (child,) = kids_of(proc.pid)
    wait_for(lambda: proc_stat(child)[0] == "sleep", what="the child to exec sleep")  # READY comes before exec
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=20)
    assert shell_status(proc.returncode) == 143
    assert f"pid {child} (sleep): killed by SIGTERM" in err.decode()
    assert proc_stat(child) is None or proc_stat(child)[0] != "sleep"


@pytest.mark.timeout(30)
def test_group_and_grace_kill_a_whole_group_that_ignores_term(in_tmp, janitor):
    # The grandchild sleep is in the child's group: with --group it gets the
    # signals too, and --grace KILLs both after TERM is ignored.
    job = "sh -c 'trap \"\" TERM; sleep 30 & echo $! > grandchild.pid; echo READY; wait'"
    proc = janitor.popen([REAP_WATCH, "--group", "--grace", "0.3", "--wait-all", "--json", job],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout.readline() == b"READY\n"
    grandchild = int((in_tmp / "grandchild.pid").read_text())
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=20)
    # Cooperative exit: the child did not die of TERM (it was KILLed), so
    # reap-watch exits with its status instead of dying of TERM.
    assert shell_status(proc.returncode) == 137
    deaths = {d["pid"]: d for d in json_lines(err.decode())}
    (child,) = [d for d in deaths.values() if d["argv"]]
    assert child["signal"] == "SIGKILL"
    # sleep does not ignore TERM: TERM reached it through the group.
    assert deaths[grandchild]["signal"] in ("SIGTERM", "SIGKILL")


@pytest.mark.timeout(30)
def test_usr1_is_passed_on_and_does_not_change_the_status(in_tmp, janitor):
    # A poke (reopen logs, dump state): the child handles it and exits 5; the
    # status is the child's, as tini gives it, not death by SIGUSR1.
    job = "sh -c 'trap \"echo got-usr1 > marker; exit 5\" USR1; echo READY; while :; do sleep 0.05; done'"
    proc = janitor.popen([REAP_WATCH, "--grace", "0.01", job], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout.readline() == b"READY\n"
    proc.send_signal(signal.SIGUSR1)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 5, err
    assert (in_tmp / "marker").read_text() == "got-usr1\n"
    assert b"exited 5" in err  # and not KILLed by --grace, which only a stop signal starts


def test_a_signal_ignored_at_start_stays_ignored(janitor):
    # nohup: HUP ignored. The child inherits that and ends normally; a shell
    # would not end by the HUP either, and neither does reap-watch.
    proc = janitor.popen(["bash", "-c", f"trap '' HUP; exec {REAP_WATCH} 'sh -c \"echo READY; sleep 0.5\"'"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout.readline() == b"READY\n"
    proc.send_signal(signal.SIGHUP)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err


# -- --pid ---------------------------------------------------------------------------


@pytest.mark.timeout(30)
def test_pid_reports_the_end_of_a_process_that_is_not_its_child(in_tmp, janitor):
    target = janitor.popen(["sleep", "30"])  # our child, not reap-watch's
    watcher = janitor.popen([REAP_WATCH, "--pid", str(target.pid)], stderr=subprocess.PIPE)
    wait_for(lambda: holds_pidfd(watcher.pid), 15, "reap-watch to open its pidfd")
    os.kill(target.pid, signal.SIGKILL)
    _, err = watcher.communicate(timeout=20)
    assert watcher.returncode == 0
    # We have not waited for it, so it is still a zombie: its status is readable.
    assert f"pid {target.pid} (sleep): killed by SIGKILL (seen as a zombie: not our child)" in err.decode()


@pytest.mark.timeout(30)
def test_pid_says_when_the_exit_status_is_unknown_and_times_out_with_124(in_tmp, janitor):
    target = janitor.popen(["sleep", "30"])
    result = reap_watch("--pid", str(target.pid), "--timeout", "0.3", "--json")
    assert result.returncode == 124
    assert result.stderr.decode() == f"reap-watch: --timeout 0.3 reached; still running: pid {target.pid}\n"
    target.kill()
    target.wait(timeout=10)  # reaped: nothing is left to read the status from
    result = reap_watch("--pid", str(target.pid))
    assert_one_line_error(result, 1, f"--pid {target.pid}", "no such process")


@pytest.mark.timeout(30)
def test_pid_of_a_reaped_non_child_says_status_unknown(in_tmp, janitor):
    # sh waits for its own child at once, so by the time reap-watch looks the
    # process is gone and only its parent knew the status.
    proc = janitor.popen(["sh", "-c", "sleep 30 & echo $!; wait"], stdout=subprocess.PIPE)
    target = int(proc.stdout.readline())
    watcher = janitor.popen([REAP_WATCH, "--json", "--pid", str(target)], stderr=subprocess.PIPE)
    wait_for(lambda: holds_pidfd(watcher.pid), 15, "reap-watch to open its pidfd")
    os.kill(target, signal.SIGTERM)
    _, err = watcher.communicate(timeout=20)
    assert watcher.returncode == 0
    (end,) = json_lines(err.decode())
    assert (end["pid"], end["name"], end["watched"]) == (target, "sleep", True)
    # Either sh had already reaped it (unknown) or we saw its zombie (SIGTERM).
    assert end["status"] in (None, 143)
    assert proc.wait(timeout=10) == 0


# -- --zombies -----------------------------------------------------------------------

NEGLECTFUL_PARENT = """\
import os, time
child = os.fork()
if child == 0:
    os._exit(0)
print(child, flush=True)
time.sleep(30)  # never waits: the child stays a zombie
"""


@pytest.mark.timeout(30)
def test_zombies_finds_a_zombie_made_on_purpose(in_tmp, janitor):
    parent = janitor.popen([PYTHON, "-c", NEGLECTFUL_PARENT], stdout=subprocess.PIPE)
    zombie = int(parent.stdout.readline())
    wait_for(lambda: proc_stat(zombie) and proc_stat(zombie)[1] == "Z", 15, "the zombie")
    result = reap_watch("--zombies")
    assert result.returncode == 1
    rows = [line.split() for line in result.stdout.decode().splitlines()]
    assert rows[0] == ["PID", "NAME", "PPID", "PARENT", "AGE"]
    mine = [row for row in rows[1:] if row[0] == str(zombie)]
    assert mine and mine[0][2] == str(parent.pid) and mine[0][3].startswith("python")
    listed = json_lines(reap_watch("--zombies", "--json").stdout.decode())
    assert {"pid": zombie, "ppid": parent.pid} in [{"pid": z["pid"], "ppid": z["ppid"]} for z in listed]


@pytest.mark.timeout(30)
def test_zombies_reports_none_when_there_is_none(in_tmp):
    # Other tests on this machine may leave zombies: look in a pid namespace of
    # our own, where reap-watch is the only process.
    if os.geteuid() != 0 or not shutil.which("unshare"):
        pytest.skip("needs root and unshare(1) for a private pid namespace")
    result = run(["unshare", "--fork", "--pid", "--mount-proc", REAP_WATCH, "--zombies"])
    if result.returncode not in (0, 1) or b"unshare:" in result.stderr:
        pytest.skip(f"no pid namespace here: {result.stderr.decode().strip()}")
    assert (result.returncode, result.stdout) == (0, b"")
    assert result.stderr == b"reap-watch: no zombie processes\n"


# -- the classic zombie lessons, as in the man page --------------------------------

def example(start):
    """The man page's example starting with start (man_examples.py), as argv."""
    argv = shlex.split(man_examples.example("reap-watch", start))
    assert argv[0] == "reap-watch"
    return [REAP_WATCH, *argv[1:]]


@pytest.mark.timeout(30)
@covers("reap-watch", "reap-watch \"sh -c '/bin/true & exec sleep 2'\"")
def test_lesson_a_child_that_exits_while_its_parent_sleeps(in_tmp, janitor):
    proc = janitor.popen([*example("reap-watch \"sh -c '/bin/true & exec sleep 2'\""), "--json"],
                         stderr=subprocess.PIPE)
    # While its parent sleeps, true is a zombie below reap-watch's child...
    child = wait_for(lambda: kids_of(proc.pid), 15, "reap-watch's child")[0]
    wait_for(lambda: zombies_of({child}), 15, "true to become a zombie of the sleeping parent")
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0
    deaths = json_lines(err.decode())
    # ... and once the parent is gone reap-watch adopts and reaps it.
    assert [(d["name"], d["adopted"], d["status"]) for d in deaths] == [("sleep", False, 0), ("true", True, 0)]


@pytest.mark.timeout(20)
@covers("reap-watch", "reap-watch \"sh -c 'exit 3'\" \"sh -c 'exit 7'\"")
def test_lesson_two_children_collected_with_exit_codes_3_and_7(in_tmp):
    result = run(example("reap-watch \"sh -c 'exit 3'\" \"sh -c 'exit 7'\""))
    assert result.returncode == 3
    reports = result.stderr.decode().splitlines()
    assert sorted(line.split(": ")[2].split(" (")[0] for line in reports) == ["exited 3", "exited 7"]


def test_man_page_has_the_lessons_as_examples():
    from conftest import ROOT

    page = (Path(ROOT) / "man" / "reap-watch.1").read_text()
    assert "exit 3" in page and "exit 7" in page and "sleep 2" in page
    assert ".SH EXAMPLES" in page


# -- errors ----------------------------------------------------------------------------

@pytest.mark.timeout(20)
def test_not_found_127_not_executable_126_while_the_others_still_run(in_tmp):
    (in_tmp / "notexec").write_text("#!/bin/sh\n")
    result = reap_watch("no-such-command-xyz", "sh -c 'echo ran > marker'")
    assert_one_line_error(result, 127, "no-such-command-xyz: command not found")
    assert (in_tmp / "marker").read_text() == "ran\n"
    result = reap_watch("./notexec", "true")
    assert_one_line_error(result, 126, "./notexec: Permission denied")


@pytest.mark.timeout(30)
@pytest.mark.parametrize("args, needle", [
    ([], "missing COMMAND"),
    (["sh -c 'unbalanced"], "no closing quotation"),
    (["   "], "empty command"),
    (["--grace", "soon", "true"], "--grace: invalid duration 'soon'"),
    (["--timeout", "1", "true"], "--timeout works with --pid only"),
    (["--pid", "0"], "--pid: invalid pid '0'"),
    (["--pid", "99999999999"], "--pid: invalid pid '99999999999'"),  # was an internal OverflowError
    (["--pid", "abc"], "'abc'"),
    (["--zombies", "true"], "cannot be used together"),
    (["--wait-all", "--zombies"], "need a COMMAND"),
])
def test_usage_errors_give_2_and_one_line(args, needle, in_tmp):
    assert_one_line_error(reap_watch(*args), 2, needle)


@pytest.mark.timeout(20)
def test_a_pid_that_does_not_exist_leaves_the_output_file_alone(in_tmp):
    (in_tmp / "keep.txt").write_text("keep\n")
    dead = subprocess.Popen(["true"])
    dead.wait()  # reaped: its pid names no process (until reused, which takes a long while)
    result = reap_watch("-o", "keep.txt", "--pid", str(dead.pid))
    assert_one_line_error(result, 1, f"--pid {dead.pid}: no such process")
    assert (in_tmp / "keep.txt").read_text() == "keep\n"  # was truncated to nothing


def test_the_output_file_names_a_command_that_could_not_start(in_tmp):
    result = reap_watch("-o", "report.txt", "no-such-command-pyipc", "true")
    assert result.returncode == 127
    assert result.stderr.decode() == "reap-watch: no-such-command-pyipc: command not found\n"
    lines = (in_tmp / "report.txt").read_text().splitlines()
    assert lines[0] == "reap-watch: no-such-command-pyipc: command not found"  # was only on stderr
    assert "(true): exited 0" in lines[1] and len(lines) == 2


def test_output_that_cannot_be_opened_gives_1_and_starts_nothing(in_tmp):
    result = reap_watch("-o", "no/such/dir/out", "sh -c 'echo ran > marker'")
    assert_one_line_error(result, 1, "cannot open 'no/such/dir/out'")
    assert not (in_tmp / "marker").exists()


@pytest.mark.timeout(30)
def test_wait_all_passes_a_signal_on_to_adopted_processes_too(in_tmp, janitor):
    job = "sh -c '(sleep 30 > /dev/null 2>&1 & echo $! > orphan.pid); echo READY'"
    proc = janitor.popen([REAP_WATCH, "--wait-all", "--json", "-o", "deaths.jsonl", job], stdout=subprocess.PIPE)
    assert proc.stdout.readline() == b"READY\n"
    orphan = int(wait_for(lambda: (in_tmp / "orphan.pid").read_text().strip(), 10, "orphan.pid"))
    janitor.track(orphan)
    # Wait until the direct child is reaped: reap-watch is now waiting only for the orphan.
    wait_for(lambda: kids_of(proc.pid) == [orphan], 15, "the orphan to be adopted")
    proc.send_signal(signal.SIGTERM)
    # Cooperative exit: only direct children decide; this one exited 0.
    assert shell_status(proc.wait(timeout=20)) == 0
    deaths = {d["pid"]: d for d in json_lines((in_tmp / "deaths.jsonl").read_text())}
    assert deaths[orphan]["adopted"] and deaths[orphan]["signal"] == "SIGTERM"


@pytest.mark.timeout(30)
def test_ctrl_c_reaches_an_adopted_process_outside_the_terminals_group(in_tmp, janitor):
    # --wait-all: an orphan in a session of its own was adopted; the terminal's
    # SIGINT reached only reap-watch's group, so reap-watch must pass it on to
    # the orphan (it skipped every target before, and waited for the orphan).
    import pexpect

    # (a & job of sh starts with SIGINT ignored: the orphan sets it back)
    orphan_code = "import signal, time; signal.signal(signal.SIGINT, signal.SIG_DFL); time.sleep(30)"
    job = f"sh -c '(setsid {PYTHON} -c \"{orphan_code}\" & echo $! > orphan.pid); echo READY; exec sleep 30'"
    child = pexpect.spawn(REAP_WATCH, ["--wait-all", job], timeout=15)
    janitor.track(child.pid)
    try:
        child.expect("READY")
        orphan = int(wait_for(lambda: (in_tmp / "orphan.pid").read_text().strip(), 10, "orphan.pid"))
        janitor.track(orphan)
        wait_for(lambda: proc_stat(orphan) and proc_stat(orphan)[2] == child.pid, 10, "the orphan adopted")
        sigint_bit = 1 << (signal.SIGINT - 1)
        wait_for(lambda: not int(proc_status(orphan).get("SigIgn", "0"), 16) & sigint_bit, 10,
                 "the orphan to take SIGINT back")
        child.sendintr()
        child.expect(pexpect.EOF)
        child.wait()
        text = child.before.decode()
        assert (child.signalstatus, child.exitstatus) == (signal.SIGINT, None), text
        assert f"pid {orphan} (" in text and text.count("killed by SIGINT") == 2, text
    finally:
        child.close(force=True)


@pytest.mark.timeout(30)
@pytest.mark.parametrize("options", [[], ["--group"]])
@pytest.mark.parametrize("trap, ends", [
    # The child handles INT and exits 3: reap-watch exits 3 (bash's and tini's cooperative exit).
    ("trap \"echo got-int; exit 3\" INT", (None, 3)),
    # The child dies of INT: reap-watch dies of INT too, so that a calling shell loop stops.
    ("true", (signal.SIGINT, None)),
])
def test_ctrl_c_at_a_terminal_ends_the_child_and_reap_watch_exits_cooperatively(options, trap, ends, in_tmp, janitor):
    # Without --group the tty driver's SIGINT reaches the child directly; with
    # --group the child is not in the foreground group and only gets it
    # because reap-watch passes it on.
    import pexpect

    job = f"sh -c '{trap}; echo READY; while :; do sleep 0.1; done'"
    child = pexpect.spawn(REAP_WATCH, [*options, job], timeout=15)
    janitor.track(child.pid)
    try:
        child.expect("READY")
        child.sendintr()
        child.expect(pexpect.EOF)
        child.wait()
        text = child.before.decode()
        how = "exited 3" if ends[1] == 3 else "killed by SIGINT"
        assert f"(sh): {how}" in text and ("got-int" in text) == (ends[1] == 3), text
        assert (child.signalstatus, child.exitstatus) == ends, text
    finally:
        child.close(force=True)
