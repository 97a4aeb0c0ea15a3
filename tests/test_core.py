"""Library tests of the core: status decoding, splitting, durations, signals, spawn, pipelines."""

import errno
import os
import signal
import stat
import sys

import pytest

from pyipc.cmdline import parse_command, split_command
from pyipc.durations import MAX_DURATION, MIN_POSITIVE_DURATION, DurationProblem, InvalidDuration, parse_duration
from pyipc.errors import ShellOperatorError, SpawnError, UsageError
from pyipc.pipeline import Pipeline, run_pipeline
from pyipc.signames import list_signals, parse_signal
from pyipc.spawn import make_pipe, spawn
from pyipc.status import ExitStatus, signal_name
from pyipc.supervise import Supervisor

PY = [sys.executable, "-S", "-I", "-c"]


def read_all(fd):
    chunks = []
    while chunk := os.read(fd, 65536):
        chunks.append(chunk)
    os.close(fd)
    return b"".join(chunks)


def wait_status_of(argv):
    pid = spawn(argv)
    return os.waitpid(pid, 0)[1]


# -- status -----------------------------------------------------------------------

def test_exit_status_decodes_exit_codes_and_signals():
    assert ExitStatus.from_wait_status(wait_status_of(["sh", "-c", "exit 3"])) == ExitStatus(exit_code=3)
    killed = ExitStatus.from_wait_status(wait_status_of(["sh", "-c", "kill -KILL $$"]))
    assert (killed.signal, killed.shell_status, killed.describe()) == (9, 137, "killed by SIGKILL")
    assert ExitStatus(exit_code=0).describe() == "exited 0"
    assert ExitStatus(signal=11, core_dumped=True).describe() == "killed by SIGSEGV (core dumped)"


def test_signal_names_include_realtime_ones():
    assert signal_name(15) == "SIGTERM"
    assert signal_name(signal.SIGRTMIN + 3) == "SIGRTMIN+3"
    assert signal_name(signal.SIGRTMAX - 1) == "SIGRTMAX-1"
    numbers = [n for n, _ in list_signals()]
    assert signal.SIGRTMAX in numbers and 9 in numbers


# -- parsing -------------------------------------------------------------------------

@pytest.mark.parametrize("line, argv", [
    ("wc -l", ["wc", "-l"]),
    ("grep -v 'a b'", ["grep", "-v", "a b"]),
    ('echo "x\\"y" z\\ w', ["echo", 'x"y', "z w"]),
    ("echo $HOME '*' ~ #c", ["echo", "$HOME", "*", "~", "#c"]),  # no expansion, no comments
])
def test_split_command_is_sh_like_without_expansion(line, argv):
    assert split_command(line) == argv


@pytest.mark.parametrize("line", [
    'printf [%s] "a\\$b" "x\\`y"',          # inside "...": backslash before $ ` is removed
    'printf [%s] "a\\nb" "c\\\\d" "e\\"f"',  # ... before other characters it stays
    "printf [%s] a\\\nb",                   # backslash-newline joins lines
    'printf [%s] "a\\\nb"',                 # inside "..." too
    "printf [%s] 'a\\b' 'c\\'",             # '...' keeps every backslash
    "printf [%s] a\\ b \\'c\\' \\\"d",       # outside quotes a backslash escapes anything
    "printf [%s] '' \"\" x''y\"\"z",            # empty quotes make words and join words
    "printf [%s]\ta\t\tb",                     # tabs separate words (a newline does too, where sh ends the command)
])
def test_split_command_agrees_with_sh(line):
    # The oracle is sh itself, printing each word in brackets (no $ or ` is
    # left unescaped in these lines, so sh expands nothing).
    import subprocess

    expected = subprocess.run(["sh", "-c", line], capture_output=True, check=True).stdout.decode()
    argv = split_command(line)
    assert argv[:2] == ["printf", "[%s]"]
    assert "".join(f"[{word}]" for word in argv[2:]) == expected


@pytest.mark.parametrize("line, message", [("", "empty command"), ("   ", "empty command"),
                                           ("echo 'a", "no closing quotation"), ('echo "a\\"', "no closing quotation"),
                                           ("echo \\", "no escaped character")])
def test_split_command_refuses_bad_lines(line, message):
    with pytest.raises(UsageError, match=message):
        split_command(line)


@pytest.mark.parametrize("line, operators", [
    ("ls | wc -l", [("|", 3)]), ("ls|wc", [("|", 2)]), ("echo hi>out", [(">", 7)]), ("a&&b", [("&&", 1)]),
    ("cmd 2>&1", [(">&", 5)]), ("a >> b", [(">>", 2)]), ("a &>> b", [("&>>", 2)]), ("a <<<x", [("<<<", 2)]),
    ("a <<-EOF", [("<<-", 2)]), ("a<>b", [("<>", 1)]), ("a >|b", [(">|", 2)]), ("a |& b", [("|&", 2)]),
    ("a;b;c", [(";", 1), (";", 3)]), ("a &", [("&", 2)]), ("(a) ", [("(", 0), (")", 2)]),
    ("a || b", [("||", 2)]), ("x ;;& y", [(";;&", 2)]), ("echo $(date)", [("$(", 5), (")", 11)]),
    ("echo `date`", [("`", 5), ("`", 10)]),
    ("a | b 'c' > d", [("|", 2), (">", 10)]),
    ("ls | echo it's", [("|", 3)]),  # the operator comes before the unbalanced quote: it is the error
])
def test_split_command_refuses_what_sh_takes_as_an_operator(line, operators):
    for split in (split_command, parse_command):
        with pytest.raises(ShellOperatorError) as caught:
            split(line)
        error = caught.value
        assert isinstance(error, UsageError)
        assert (error.line, error.operators, error.stage) == (line, operators, None)
        assert (error.token, error.position) == operators[0]
        assert line.startswith(error.token, error.position)


@pytest.mark.parametrize("line, argv", [
    (r"""echo '|' \| "|" 'a;b' \& \< \> '(' \) x\&\&y""", ["echo", "|", "|", "|", "a;b", "&", "<", ">", "(", ")", "x&&y"]),
    (r"""echo '$(date)' \$\( "2>&1" "a$(b" """, ["echo", "$(date)", "$(", "2>&1", "a$(b"]),
    (r"""echo '`date`' \` "\`" """, ["echo", "`date`", "`", "`"]),
    ("echo {} ! # x=1 ~", ["echo", "{}", "!", "#", "x=1", "~"]),  # no operators: words as before
])
def test_quoted_or_escaped_operators_are_words(line, argv):
    assert split_command(line) == argv


def test_an_unbalanced_quote_before_any_operator_is_that_error():
    with pytest.raises(UsageError, match="no closing quotation") as caught:
        split_command("echo it's | wc")
    assert not isinstance(caught.value, ShellOperatorError)


@pytest.mark.parametrize("line, env, argv", [
    ("LC_ALL=C sort -u", {"LC_ALL": "C"}, ["sort", "-u"]),
    ("A=1 B=2 env x=1", {"A": "1", "B": "2"}, ["env", "x=1"]),  # a later x=1 is an argument
    (r"""A='x y' B="q\"" C=a\ b env""", {"A": "x y", "B": 'q"', "C": "a b"}, ["env"]),  # the value may be quoted
    ("A= B=1=2 _x9=3 env", {"A": "", "B": "1=2", "_x9": "3"}, ["env"]),
    ("'A'=1 env", {}, ["A=1", "env"]),  # the name and the = must be unquoted: not an assignment
    (r"A\=1 env", {}, ["A=1", "env"]),
    ('A"=1" env', {}, ["A=1", "env"]),
    (r"\A=1 env", {}, ["A=1", "env"]),
    ("1A=1 env", {}, ["1A=1", "env"]),
    ("=1 env", {}, ["=1", "env"]),
    ("A-B=1 env", {}, ["A-B=1", "env"]),
    ("A=1 A=2 env", {"A": "2"}, ["env"]),
    ("env", {}, ["env"]),
])
def test_parse_command_takes_the_leading_assignments(line, env, argv):
    assert parse_command(line) == (env, argv)
    assert split_command(line)[-len(argv):] == argv  # split_command keeps them as words


def test_parse_command_assignments_agree_with_sh():
    # The oracle is sh: the variables it gives env for the same words.
    import subprocess

    assignments = r"""A='x y' B="q\"" C=a\ b D= E=1=2 _f=\$x"""
    names = ["A", "B", "C", "D", "E", "_f"]
    env = {k: v for k, v in os.environ.items() if k not in names}
    shown = subprocess.run(["sh", "-c", assignments + " env"], env=env, capture_output=True).stdout.decode()
    theirs = {k: v for k, _, v in (entry.partition("=") for entry in shown.splitlines()) if k in names}
    assert parse_command(assignments + " env G=1") == (theirs, ["env", "G=1"])
    assert len(theirs) == len(names)


@pytest.mark.parametrize("line", ["A=1", "A=1 B='x y'"])
def test_parse_command_refuses_assignments_only(line):
    with pytest.raises(UsageError, match="only sets variables"):
        parse_command(line)
    assert split_command(line)  # as words they are a command line


def test_pipelines_refuse_an_operator_before_anything_starts(tmp_path):
    marker = tmp_path / "ran"
    with pytest.raises(ShellOperatorError) as caught:
        Pipeline([f"touch {marker}", "cat", "ls | wc -l"])
    assert (caught.value.stage, caught.value.token, caught.value.position) == (2, "|", 3)
    with pytest.raises(ShellOperatorError) as caught:
        run_pipeline(f"touch {marker}", "ls>x", capture_output=True, input=b"")
    assert (caught.value.stage, caught.value.token, caught.value.position, caught.value.line) == (1, ">", 2, "ls>x")
    assert not marker.exists()
    # shell=True and argv lists are not split: nothing to refuse
    assert run_pipeline("echo a | tr a b", shell=True, capture_output=True).stdout == b"b\n"
    assert run_pipeline(["echo", "|", "&&"], capture_output=True).stdout == b"| &&\n"


def test_pipeline_assignments_add_to_env_for_their_stage_only():
    path = os.environ["PATH"]
    result = run_pipeline("A=1 B=2 env", ["env"], env={"PATH": path, "KEEP": "k"}, capture_output=True)
    assert sorted(result.stdout.decode().splitlines()) == ["KEEP=k", f"PATH={path}"]  # the last stage's: env only
    result = run_pipeline("A=1 B=2 env", env={"PATH": path, "A": "0"}, capture_output=True)
    assert sorted(result.stdout.decode().splitlines()) == ["A=1", "B=2", f"PATH={path}"]
    assert result.stages[0].argv == ["env"]

@pytest.mark.parametrize("text, seconds", [("1.5", 1.5), ("2m", 120), (".5h", 1800), ("1d", 86400), ("0", 0), ("3s", 3),
                                           # what strtod reads, as coreutils timeout takes it
                                           ("1e3", 1000), ("1E3s", 1000), ("2.5e-1m", 15), ("+2", 2), ("5.", 5),
                                           ("0x10", 16), ("0x1d", 29),  # strtod reads hex 1d: 29 s, not 1 day
                                           ("0x1.8p1", 3), ("-0", 0), ("0e999", 0), ("0x0p-99999", 0)])
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["inf", "INFINITY", "infd", "1e400", "2.34e+5d", "0x1p99999", "9" * 400])
def test_durations_too_long_are_clamped(text):
    assert parse_duration(text) == MAX_DURATION


@pytest.mark.parametrize("text", ["1e-10000", "1e-12", "0x1p-99999", "1e-" + "9" * 5000])
def test_a_positive_duration_too_small_still_times_out(text):
    # strtod underflows 1e-10000 to 0, which would mean "no deadline"
    assert parse_duration(text) == MIN_POSITIVE_DURATION > 0


@pytest.mark.parametrize("text", ["nan", "NaN(1)", "", "s", "1x", ".", "1..2", "1 m", " 1", "1 ", "1_0", "e3", "1e",
                                  "0x", "0x1p", "1ss", "1e3.5", "in", "infinit",
                                  "\u00b2", "\u0663", "1\u00b9", "\uff11"])  # ² was an internal error, Arabic-Indic 3 was taken as 3
def test_bad_durations(text):
    with pytest.raises(InvalidDuration, match="invalid duration") as caught:
        parse_duration(text)
    assert (caught.value.text, caught.value.problem) == (text, DurationProblem.NOT_A_DURATION)


@pytest.mark.parametrize("text", ["-1", "-inf", "-1e-10000", "-0x1"])
def test_negative_durations(text):
    with pytest.raises(InvalidDuration, match="cannot be negative") as caught:
        parse_duration(text)
    assert caught.value.problem is DurationProblem.NEGATIVE


@pytest.mark.parametrize("text, number", [("TERM", 15), ("SIGTERM", 15), ("sigterm", 15), ("15", 15), ("kill", 9),
                                          ("RTMIN", signal.SIGRTMIN), ("RTMIN+3", signal.SIGRTMIN + 3),
                                          ("SIGRTMAX-1", signal.SIGRTMAX - 1)])
def test_signal_spellings(text, number):
    assert parse_signal(text) == number


@pytest.mark.parametrize("text", ["65", "100", "0", "RTMAX+1", "RTMIN-1", "FOO", "-1", ""])
def test_bad_signals(text):
    with pytest.raises(UsageError):
        parse_signal(text)


def test_signal_zero_only_when_allowed():
    assert parse_signal("0", allow_zero=True) == 0


# -- spawn ---------------------------------------------------------------------------

# spawn has two ways to start a child: vfork in the optional C extension
# (pyipc._speedups.spawn), and fork with the child's steps in Python (spawn._child,
# without the extension, with PYIPC_NO_SPEEDUPS=1, and for --trace). Every spawn
# test runs both ways.

@pytest.fixture(params=["vfork", "fork"])
def both_ways(request, monkeypatch):
    from pyipc import _libc

    if request.param == "fork":
        monkeypatch.setattr(_libc, "_helper", [None])
    elif _libc.speedups() is None:
        pytest.skip("the optional C extension pyipc._speedups is not built")
    return request.param


def test_spawn_takes_the_vfork_way_when_the_extension_is_built(both_ways):
    from pyipc.spawn import _vfork_arguments

    found = _vfork_arguments(["true"], ["/bin/true"], {"A": "1"}, (None, None, None), 0, (), 9, None)
    assert (found is not None) == (both_ways == "vfork")
    if found is not None:
        assert found[1:] == ([b"true"], [b"/bin/true"], [b"A=1"])
        # what the Python way reports in its own words goes that way
        for odd in ([["tr\0ue"], ["/bin/true"], {}], [[""], ["/bin/true"], {}], [["true"], ["/bin/true"], {"A=B": "1"}]):
            assert _vfork_arguments(*odd, (None, None, None), None, None, None, None) is None


def test_spawn_reports_missing_program_as_127(both_ways):
    with pytest.raises(SpawnError) as info:
        spawn(["no-such-program-pyipc"])
    exc = info.value
    assert (exc.errno, exc.exit_status, exc.exec_reached, exc.reason) == (errno.ENOENT, 127, True, "command not found")
    assert exc.pid and exc.wait_status is not None  # the child was reaped before raising
    with pytest.raises(ChildProcessError):
        os.waitpid(exc.pid, os.WNOHANG)


def test_spawn_reports_directory_and_non_executable_as_126(tmp_path, both_ways):
    with pytest.raises(SpawnError) as info:
        spawn([str(tmp_path)])
    assert (info.value.exit_status, info.value.reason) == (126, "Is a directory")
    plain = tmp_path / "plain"
    plain.write_text("echo hi\n")
    with pytest.raises(SpawnError) as info:
        spawn([str(plain)])
    assert (info.value.errno, info.value.exit_status) == (errno.EACCES, 126)


def test_spawn_runs_a_script_without_shebang_with_sh(tmp_path, both_ways):
    script = tmp_path / "noshebang"
    script.write_text("exit 7\n")
    script.chmod(0o755)
    assert os.waitstatus_to_exitcode(wait_status_of([str(script)])) == 7


def test_spawn_setup_failure_is_reported_before_exec(both_ways):
    closed_fd = 987  # a closed fd cannot be dup2'd (pipe fds could be reused by spawn's own pipe)
    with pytest.raises(OSError):
        os.fstat(closed_fd)
    with pytest.raises(SpawnError) as info:
        spawn(["true"], stdin=closed_fd)
    assert info.value.errno == errno.EBADF and not info.value.exec_reached


def test_child_has_only_std_fds_and_default_sigpipe(both_ways):
    read_end, write_end = make_pipe()
    extra = os.open(os.devnull, os.O_RDONLY)
    os.set_inheritable(extra, True)  # even an inheritable fd must not leak into the child
    try:
        probe = ("import os,sys\n"
                 "def ok(fd):\n"
                 "    try: os.fstat(fd); return True\n"
                 "    except OSError: return False\n"
                 "st=dict(l.split(':\\t') for l in open('/proc/self/status').read().splitlines() if ':\\t' in l)\n"
                 "print([fd for fd in range(256) if ok(fd)], st['SigBlk'].strip())\n")
        pid = spawn([*PY, probe], stdout=write_end)
        os.close(write_end)
        out = read_all(read_end).decode()
        os.waitpid(pid, 0)
    finally:
        os.close(extra)
    fds, blocked = out.rsplit(" ", 1)
    assert fds == "[0, 1, 2]" and int(blocked, 16) == 0


def test_dup2_sources_in_the_std_range_are_not_clobbered(both_ways):
    # stdout=0 and stdin=1 swap: the naive order of dup2 calls would lose one.
    read_end, write_end = make_pipe()
    in_read, in_write = make_pipe()
    os.write(in_write, b"swapped\n")
    os.close(in_write)
    saved = [os.dup(0), os.dup(1)]
    try:
        os.dup2(in_read, 1)
        os.dup2(write_end, 0)
        pid = spawn(["cat"], stdin=1, stdout=0)
    finally:
        os.dup2(saved[0], 0)
        os.dup2(saved[1], 1)
        for fd in (*saved, in_read, write_end):
            os.close(fd)
    assert read_all(read_end) == b"swapped\n"
    assert os.waitpid(pid, 0)[1] == 0


def test_child_gets_default_handlers_the_mask_asked_for_and_a_parent_death_signal(both_ways):
    probe = ("import ctypes, signal\n"
             "libc = ctypes.CDLL(None, use_errno=True); got = ctypes.c_int()\n"
             "libc.prctl(2, ctypes.byref(got), 0, 0, 0)\n"  # PR_GET_PDEATHSIG
             "st = dict(l.split(':\\t') for l in open('/proc/self/status').read().splitlines() if ':\\t' in l)\n"
             "print(got.value, st['SigBlk'].strip(), signal.getsignal(signal.SIGUSR1) is signal.SIG_DFL, os.getpgrp() == os.getpid())\n")
    probe = "import os\n" + probe
    handler_calls = []
    old_usr1 = signal.signal(signal.SIGUSR1, lambda *_: handler_calls.append(1))
    old_hup = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGTERM])
    read_end, write_end = make_pipe()
    try:
        pid = spawn([*PY, probe], stdout=write_end, sigmask=[signal.SIGUSR2], parent_death_signal=signal.SIGTERM,
                    process_group=0)
        os.close(write_end)
        out = read_all(read_end).decode().split()
        assert os.waitpid(pid, 0)[1] == 0
        read_end, write_end = make_pipe()  # not a Python child: Python ignores SIGPIPE itself
        pid = spawn(["grep", "SigIgn", "/proc/self/status"], stdout=write_end)
        os.close(write_end)
        ignored = read_all(read_end).decode().split()[1]
        assert os.waitpid(pid, 0)[1] == 0
        # the parent is as it was: handlers, ignored signals and mask
        assert signal.pthread_sigmask(signal.SIG_BLOCK, []) == {signal.SIGTERM} | set(old_mask)
        assert signal.getsignal(signal.SIGHUP) == signal.SIG_IGN and signal.getsignal(signal.SIGUSR1) is not signal.SIG_DFL
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
        signal.signal(signal.SIGUSR1, old_usr1)
        signal.signal(signal.SIGHUP, old_hup)
    death, blocked, usr1_default, leader = out
    assert int(death) == signal.SIGTERM
    assert int(blocked, 16) == 1 << (signal.SIGUSR2 - 1)
    # SIGHUP stays ignored (nohup); SIGPIPE, which Python ignores, is back to default
    assert int(ignored, 16) & (1 << (signal.SIGHUP - 1)) and not int(ignored, 16) & (1 << (signal.SIGPIPE - 1))
    assert (usr1_default, leader) == ("True", "True") and not handler_calls


def test_a_child_whose_parent_died_before_the_parent_death_signal_was_set_ends(both_ways):
    # spawn checks getppid() after the prctl: a parent pid that is not ours reads as "died before"
    from pyipc import spawn as spawn_module

    real_getpid = os.getpid
    try:
        spawn_module.os.getpid = lambda: 1  # what spawn passes as the parent to check against
        pid = spawn(["sleep", "5"], parent_death_signal=signal.SIGTERM)
    finally:
        spawn_module.os.getpid = real_getpid
    assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 128 + signal.SIGTERM


# -- pipelines -------------------------------------------------------------------

def test_yes_head_ends_at_once_with_sigpipe_status():
    result = run_pipeline("yes", "head -1", stdout=os.open(os.devnull, os.O_WRONLY))
    assert result.statuses == [141, 0] and result.status == 0
    assert result.stages[0].signal_name == "SIGPIPE"
    assert run_pipeline("yes", "head -c1", pipefail=True, stdout=os.open(os.devnull, os.O_WRONLY)).status == 141


def test_pipefail_takes_the_rightmost_failure():
    result = run_pipeline("sh -c 'exit 3'", "sh -c 'cat; exit 4'", "true", pipefail=True)
    assert result.statuses == [3, 4, 0] and result.status == 4
    assert run_pipeline("sh -c 'exit 3'", "true").status == 0


def test_data_flows_through_and_every_stage_is_reaped():
    read_end, write_end = make_pipe()
    result = run_pipeline(["printf", "b\\na\\nc\\n"], "sort", "tr a-z A-Z", stdout=write_end)
    os.close(write_end)
    assert read_all(read_end) == b"A\nB\nC\n"
    for stage in result.stages:
        with pytest.raises(ChildProcessError):
            os.waitpid(stage.pid, os.WNOHANG)


def test_a_missing_stage_does_not_stop_the_others():
    result = run_pipeline("no-such-program-pyipc", "/", "echo still")
    assert result.statuses == [127, 126, 0]
    assert [e.reason for e in result.spawn_errors] == ["command not found", "Is a directory"]


def test_timeout_signals_every_stage_then_kills():
    # Race-free: the stages inherit our mask with TERM blocked, so "sleep 30"
    # keeps the deadline's TERM pending (KILL ends it), while the other stage
    # unblocks TERM and dies of it whenever it came.
    unblocks = [sys.executable, "-c", "import signal; signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGTERM]); signal.pause()"]
    old = signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGTERM])
    try:
        result = run_pipeline(unblocks, "sleep 30", timeout=0.2, kill_after=0.2)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)
    assert result.timed_out and result.killed
    assert result.statuses == [143, 137]


def test_exception_while_waiting_still_kills_and_reaps(monkeypatch):
    pipeline = Pipeline(["sleep 30", "sleep 30"])

    def boom(*args):
        raise RuntimeError("boom")

    pipeline.start()
    pids = [stage.pid for stage in pipeline.stages]
    monkeypatch.setattr(Supervisor, "wait_events", boom)
    with pytest.raises(RuntimeError):
        pipeline.wait()
    for pid in pids:
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
    # The signal mask is back to what it was.
    assert signal.SIGCHLD not in signal.pthread_sigmask(signal.SIG_BLOCK, [])


def test_cycle_connects_last_stdout_to_first_stdin(tmp_path):
    out = tmp_path / "out"
    result = run_pipeline(f"sh -c 'echo ping; read reply; echo \"$reply\" > {out}'", "sh -c 'read m; echo pong:$m'",
                          cycle=True, timeout=20)
    assert result.statuses == [0, 0] and out.read_text() == "pong:ping\n"


def test_many_stages_pass_data_and_leave_no_fd_behind():
    before = sorted(os.listdir("/proc/self/fd"))
    read_end, write_end = make_pipe()
    result = run_pipeline("seq 1000", *["cat"] * 98, "wc -l", stdout=write_end)
    os.close(write_end)
    assert read_all(read_end).strip() == b"1000" and result.statuses == [0] * 100
    assert sorted(os.listdir("/proc/self/fd")) == before


def test_merge_stderr_sends_stage_stderr_into_the_pipe():
    read_end, write_end = make_pipe()
    run_pipeline("sh -c 'echo out; echo err >&2'", "sort", merge_stderr=True, stdout=write_end)
    os.close(write_end)
    assert read_all(read_end) == b"err\nout\n"


def test_shell_stages_run_with_sh_c():
    read_end, write_end = make_pipe()
    run_pipeline("echo a b | tr a A", "cat", shell=True, stdout=write_end)
    os.close(write_end)
    assert read_all(read_end) == b"A b\n"


def test_report_dict_shape():
    data = run_pipeline("true", "false").as_dict()
    assert data["status"] == 1
    # The keys of the first reports are still there (issue 15 added per-stage verdicts beside them).
    assert all(set(s) >= {"argv", "pid", "status", "signal", "wall_s"} for s in data["stages"])
    assert len(data["stages"]) == 2
    assert data["stages"][1]["argv"] == ["false"] and data["stages"][1]["signal"] is None


def test_make_pipe_never_hands_out_std_fds():
    # With fd 0 closed, pipe() would return 0; a later dup2 onto 0 would clobber it.
    saved = os.dup(0)
    os.close(0)
    try:
        read_end, write_end = make_pipe()
        assert read_end >= 3 and write_end >= 3
        assert stat.S_ISFIFO(os.fstat(read_end).st_mode)
        os.close(read_end)
        os.close(write_end)
    finally:
        os.dup2(saved, 0)
        os.close(saved)


def test_a_signal_arriving_with_the_last_sigchld_is_not_lost():
    # The stage signals its parent and exits at once: SIGCHLD and SIGHUP are
    # pending together. The HUP must be reported, not delivered later (which
    # would kill the process). Run in a subprocess so a regression kills only it.
    import subprocess

    code = ("from pyipc.pipeline import run_pipeline\n"
            "r = run_pipeline(\"sh -c 'kill -HUP $PPID'\")\n"
            "print(r.received_signal, r.statuses)\n")
    for _ in range(5):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
        assert out.returncode == 0, out
        assert out.stdout.split()[0] == str(int(signal.SIGHUP))


def test_huge_durations_are_clamped_not_errors():
    from pyipc.durations import MAX_DURATION

    assert parse_duration("99999999999999999999") == MAX_DURATION
    assert parse_duration("99999999999999999999999d") == MAX_DURATION
    result = run_pipeline("true", timeout=MAX_DURATION)  # every wait call must take it
    assert result.statuses == [0] and not result.timed_out
