"""Shell habits in pipe-run's stages (issue 15, item 6), end to end.

What sh would take as an operator in a stage (| & ; < > ( ), alone, doubled,
or glued to a word) is a usage error that says what to do instead, and
nothing starts; quoted or escaped it is an argument. Leading NAME=value words
are the stage's environment, as sh makes them. An option that pipe-run does not
know, after a stage, gets a hint that a stage's options go inside its quotes.
"""

import json
import os

import pytest

from conftest import ENV, run, script

PIPE_RUN = script("pipe-run")
REAP_WATCH = script("reap-watch")


def pipe_run(*args, **kwargs):
    return run([PIPE_RUN, *args], **kwargs)


def usage_error(result) -> str:
    """The one-line message of a usage error (then coreutils' Try line)."""
    err = result.stderr.decode()
    assert result.returncode == 2, (result.returncode, err)
    assert result.stdout == b""
    lines = err.splitlines()
    assert len(lines) == 2 and lines[1] == "Try 'pipe-run --help' for more information.", err
    assert lines[0].startswith("pipe-run: ") and "Traceback" not in err
    return lines[0]


# -- operators -------------------------------------------------------------------------

# (stage, the operator sh reads first, what the message advises). The touch
# before the operator would leave a file behind if anything started.
OPERATORS = [
    ("touch ran | wc -l", "'|'", "one argument per stage"),
    ("touch ran|wc -l", "'|'", "one argument per stage"),
    ("touch ran > out.txt", "'>'", "-o FILE or -a FILE"),
    ("touch ran>out", "'>'", "-o FILE or -a FILE"),
    ("touch ran >> out", "'>>'", "-o FILE or -a FILE"),
    ("touch ran >| out", "'>|'", "-o FILE or -a FILE"),
    ("touch ran &> out", "'&>'", "-o FILE or -a FILE"),
    ("touch ran < in", "'<'", "-i FILE"),
    ("touch ran<in", "'<'", "-i FILE"),
    ("touch ran <<EOF", "'<<'", "-i FILE"),
    ("touch ran <<<word", "'<<<'", "-i FILE"),
    ("touch ran 2>&1", "'2>&1'", "--merge-stderr"),
    ("touch ran |& cat", "'|&'", "--merge-stderr"),
    ("touch ran && true", "'&&'", "--shell"),
    ("touch ran&&true", "'&&'", "--shell"),
    ("touch ran || true", "'||'", "--shell"),
    ("touch ran; true", "';'", "--shell"),
    ("touch ran &", "'&'", "--shell"),
    ("touch ran&", "'&'", "--shell"),
    ("touch ran (x)", "'('", "--shell"),
    ("touch ran x)", "')'", "--shell"),
    ("touch ran $(echo x)", "'$('", "--shell"),
    ("touch ran `echo x`", "'`'", "--shell"),  # the other spelling of $(, which splitting passed on as it was
]


@pytest.mark.parametrize("stage, token, advice", OPERATORS)
def test_an_unquoted_operator_is_a_usage_error_and_nothing_starts(in_tmp, stage, token, advice):
    message = usage_error(pipe_run("cat", stage))
    assert message.startswith(f"pipe-run: stage 2: {token} ")
    assert "quote it" in message and advice in message and "--shell" in message
    assert os.listdir(in_tmp) == []  # not even the first stage ran


def test_the_advice_for_a_pipe_gives_the_stages_apart():
    message = usage_error(pipe_run("-i", "/dev/null", "cat", "ls|grep 'a b' | wc -l", "tr 1 2"))
    assert message.endswith("""(pipe-run "cat" "ls" "grep 'a b'" "wc -l" "tr 1 2"), or --shell""")
    # and those stages, run as given, are the pipeline that was meant
    ours = pipe_run("ls /", "grep 'i'", "wc -l")
    assert ours.stdout == run(["sh", "-c", "ls / | grep 'i' | wc -l"]).stdout


@pytest.mark.parametrize("line", [
    "printf [%s] '|' \"&\" \\; '<' \\> '(' \\) 'a&&b' \"2>&1\" x\\|y '$(' \\$\\(",
    "printf [%s] 'ls | wc -l' \"echo hi > out\"",
    "printf [%s] a\\&\\&b \\<\\<EOF",
])
def test_quoted_or_escaped_operators_are_arguments(in_tmp, line):
    ours = pipe_run(line)
    assert ours.returncode == 0, ours.stderr
    assert ours.stdout == run(["sh", "-c", line]).stdout
    assert os.listdir(in_tmp) == []


def test_echo_a_quoted_pipe():
    assert pipe_run("echo '|'").stdout == b"|\n"


def test_with_shell_the_line_goes_to_sh_unchanged(in_tmp):
    result = pipe_run("--shell", "echo hi > out.txt; echo a b | tr a-z A-Z", "cat")
    assert (result.returncode, result.stdout) == (0, b"A B\n")
    assert (in_tmp / "out.txt").read_text() == "hi\n"


def test_reap_watch_refuses_an_operator_too(in_tmp):
    result = run([REAP_WATCH, "touch ran; true"])
    assert result.returncode == 2
    first = result.stderr.decode().splitlines()[0]
    assert first == """reap-watch: COMMAND 1: ';' is a shell operator (quote it to pass it on as an argument); """ \
                    """a shell runs the line as one COMMAND: "sh -c 'touch ran; true'\""""
    assert os.listdir(in_tmp) == []


# -- NAME=value ------------------------------------------------------------------------

def env_of(output: bytes) -> dict:
    return dict(line.split("=", 1) for line in output.decode().splitlines() if "=" in line)


def test_leading_assignments_are_the_stage_environment():
    result = pipe_run("A=1 B=2 env")
    assert result.returncode == 0, result.stderr
    shown = env_of(result.stdout)
    assert (shown["A"], shown["B"]) == ("1", "2")


def test_the_same_variables_as_sh_sets():
    line = "A=1 B='x y' _c=\"q\\\"\" D= E=1=2 env"
    clean = {k: v for k, v in ENV.items() if k not in ("A", "B", "_c", "D", "E")}
    ours = env_of(pipe_run(line, env=clean).stdout)
    theirs = env_of(run(["sh", "-c", line], env=clean).stdout)
    names = ("A", "B", "_c", "D", "E")
    assert {n: ours.get(n) for n in names} == {n: theirs.get(n) for n in names} == {
        "A": "1", "B": "x y", "_c": 'q"', "D": "", "E": "1=2"}


def test_a_later_name_value_word_is_an_argument():
    result = pipe_run("A=1 printf [%s] B=2 A=3", "cat")
    assert (result.returncode, result.stdout) == (0, b"[B=2][A=3]")


@pytest.mark.parametrize("line", ["'A'=1 env", "A\\=1 env", "A\"=1\" env", "1A=1 env", "=1 env"])
def test_a_quoted_or_bad_name_is_no_assignment(line):
    # as in sh: the word is the command, which does not exist
    ours = pipe_run(line)
    theirs = run(["sh", "-c", line])
    assert ours.returncode == theirs.returncode == 127
    assert ours.stderr.decode().endswith(": command not found\n")


def test_assignments_are_for_their_own_stage_only():
    clean = {k: v for k, v in ENV.items() if k != "ONLY_HERE"}
    result = pipe_run("ONLY_HERE=1 env", "grep -c ^ONLY_HERE=", env=clean)
    assert result.stdout == b"1\n"
    result = pipe_run("ONLY_HERE=1 true", "env", env=clean)
    assert b"ONLY_HERE" not in result.stdout


def test_lc_all_reaches_sort(in_tmp):
    (in_tmp / "words").write_bytes("b\nB\na\nA\n\u00e9\n".encode())
    ours = pipe_run("-i", "words", "LC_ALL=C sort")
    assert ours.stdout == "A\nB\na\nb\n\u00e9\n".encode()


def test_path_assignment_is_used_to_find_the_program():
    # as bash and dash: PATH=... changes where the stage's program is looked for
    assert pipe_run("PATH=/nonexistent ls").returncode == run(["sh", "-c", "PATH=/nonexistent ls"]).returncode == 127


@pytest.mark.parametrize("line", ["A=1", "A=1 B='x y'"])
def test_a_stage_of_assignments_only_is_a_usage_error(line, in_tmp):
    message = usage_error(pipe_run("touch ran", line))
    assert message == f"pipe-run: stage 2: {line!r} only sets variables: there is no command to run"
    assert os.listdir(in_tmp) == []


def test_with_shell_sh_makes_the_assignment():
    result = pipe_run("--shell", "A=5; echo $A")
    assert result.stdout == b"5\n"


# -- a stage's options outside its quotes ------------------------------------------------

@pytest.mark.parametrize("args, hint", [
    (["ls", "-la", "wc -l"], "no such option: -l; a stage's options go inside its quotes: \"ls -la\""),
    (["--timeout", "5", "grep x", "-v", "wc -l"], "no such option: -v; a stage's options go inside its quotes: "
                                                   "\"grep x -v\""),
    (["-k", "1", "--timeout=9", "sort", "--reverse=x"], "a stage's options go inside its quotes: \"sort --reverse=x\""),
    (["printf [%s]", "--no-such"], "a stage's options go inside its quotes: \"printf [%s] --no-such\""),
])
def test_an_unknown_option_after_a_stage_says_to_quote_it(in_tmp, args, hint):
    message = usage_error(pipe_run(*args))
    assert message.endswith(hint), message


@pytest.mark.parametrize("args, hint", [
    (["sort", "-k", "2", "head -1"], "\"sort -k 2\""),
    (["sort", "-k2", "head -1"], "\"sort -k2\""),
    (["sort", "--kill-after=2"], "\"sort --kill-after=2\""),
])
def test_a_stage_option_that_pipe_run_also_knows_gets_the_hint_when_it_is_refused(in_tmp, args, hint):
    # sort's -k, read as pipe-run's --kill-after, which needs --timeout: the
    # message alone ("--kill-after needs --timeout") misleads a user who never
    # meant pipe-run's option.
    message = usage_error(pipe_run(*args))
    assert message == f"pipe-run: --kill-after needs --timeout; a stage's options go inside its quotes: {hint}"
    assert os.listdir(in_tmp) == []


def test_a_stage_input_option_read_as_pipe_runs_gets_the_hint_when_the_file_is_missing(in_tmp):
    # grep's -i, read as pipe-run's --input: "cannot open 'error'" alone is a riddle
    result = pipe_run("grep", "-i", "error", "wc -l")
    assert (result.returncode, result.stdout) == (1, b"")
    assert result.stderr == (b"pipe-run: cannot open 'error': No such file or directory; "
                             b"a stage's options go inside its quotes: \"grep -i error\"\n")
    result = pipe_run("-i", "error", "grep x")  # before any stage: pipe-run's own, no hint
    assert result.stderr == b"pipe-run: cannot open 'error': No such file or directory\n"


def test_kill_after_before_any_stage_gets_no_hint():
    assert usage_error(pipe_run("-k", "2", "sort")) == "pipe-run: --kill-after needs --timeout"


def test_an_unknown_option_before_any_stage_gets_no_hint():
    message = usage_error(pipe_run("-x", "ls"))
    assert message == "pipe-run: no such option: -x"
    message = usage_error(pipe_run("-i", "-la", "--bogus", "ls"))  # -la is -i's value, not a stage
    assert "quotes" not in message


def test_after_double_dash_an_option_word_is_a_stage():
    result = pipe_run("echo", "--", "-la")
    assert result.returncode == 127 and result.stderr == b"pipe-run: -la: command not found\n"



def test_the_report_gives_a_stages_assignments(in_tmp):
    text = pipe_run("--report", "text", "LC_ALL=C A='x y' true")
    assert text.returncode == 0
    assert text.stderr.decode().splitlines()[0].endswith(": LC_ALL=C A='x y' true")  # as sh would read it again
    as_json = pipe_run("--report", "json", "LC_ALL=C true", "cat")
    stages = json.loads(as_json.stderr)["stages"]
    assert [(stage["argv"], stage["env"]) for stage in stages] == [(["true"], {"LC_ALL": "C"}), (["cat"], {})]
