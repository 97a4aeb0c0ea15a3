"""What every command shares (pyipc/commands/_cli.py): output errors are one
line and the command's failure code, with or without PYTHONUNBUFFERED."""


import pytest

from conftest import ENV, run, script

COMMANDS = ["pipe-run", "mkfifo-cat", "fifo-send", "fifo-recv", "sigsend", "alarm-wait", "reap-watch"]
# alarm-wait's own failures are 125, as coreutils timeout's are.
FAILURE = {prog: 125 if prog == "alarm-wait" else 1 for prog in COMMANDS}


@pytest.mark.parametrize("unbuffered", [False, True])
@pytest.mark.parametrize("prog", COMMANDS)
def test_output_to_a_full_device_is_a_write_error(prog, unbuffered):
    env = {**ENV, "PYTHONUNBUFFERED": "1"} if unbuffered else ENV
    with open("/dev/full", "wb") as full:
        result = run([script(prog), "--version"], stdout=full, env=env)
    err = result.stderr.decode()
    assert result.returncode == FAILURE[prog], err
    assert err.startswith(f"{prog}: ") and "No space left on device" in err and len(err.splitlines()) == 1


@pytest.mark.parametrize("prog", COMMANDS)
def test_version_goes_to_stdout(prog):
    result = run([script(prog), "--version"], env=ENV)
    assert result.returncode == 0 and result.stdout.decode() == f"{prog} (pyipc) 0.1.0\n"


@pytest.mark.parametrize("prog", COMMANDS)
def test_closed_stdout_is_a_write_error(prog):
    result = run(["bash", "-c", f"{script(prog)} --version >&-"], env=ENV)
    assert result.returncode == FAILURE[prog] and "Bad file descriptor" in result.stderr.decode()


@pytest.mark.parametrize("prog", COMMANDS)
def test_bin_launcher_runs_the_command_from_the_checkout(prog):
    from conftest import ROOT, PYTHON

    launcher = ROOT / "bin" / prog
    assert launcher.exists(), f"bin/{prog} is missing (ln -s _launch bin/{prog})"
    result = run([str(launcher), "--version"], env={**ENV, "PYTHON": PYTHON})
    assert result.returncode == 0 and result.stdout.decode() == f"{prog} (pyipc) 0.1.0\n", result.stderr



@pytest.fixture(scope="module")
def python_without_typer(tmp_path_factory):
    """An interpreter with the standard library only, as a bare python3 is."""
    import subprocess
    import sys

    venv = tmp_path_factory.mktemp("bare") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    assert run([str(python), "-c", "import typer"]).returncode == 1
    return str(python)


@pytest.mark.parametrize("args", [["--help"], ["--no-such-option"]])
def test_bin_launcher_without_typer_says_what_to_install(python_without_typer, args):
    from conftest import ROOT

    result = run([str(ROOT / "bin" / "pipe-run"), *args], env={**ENV, "PYTHON": python_without_typer})
    err = result.stderr.decode()
    assert result.returncode == 1 and result.stdout == b"", err
    assert err == (f"pipe-run: typer is not installed for {python_without_typer}; install it with: "
                   f"{python_without_typer} -m pip install -e {ROOT}, or set PYTHON to an interpreter that has typer\n")


def test_bin_launcher_without_typer_still_runs_what_needs_no_typer(python_without_typer):
    from conftest import ROOT

    result = run([str(ROOT / "bin" / "pipe-run"), "echo hi", "tr a-z A-Z"], env={**ENV, "PYTHON": python_without_typer})
    assert result.returncode == 0 and result.stdout == b"HI\n", result.stderr


@pytest.mark.parametrize("prog", COMMANDS)
def test_help_shows_no_value_ranges_of_click_types(prog):
    # alarm-wait --help once showed a stray [x>=0] (a click.FloatRange):
    # values are strings now, checked by pyipc's parsers, as NOTES explains.
    result = run([script(prog), "--help"], env=ENV)
    out = result.stdout.decode()
    assert result.returncode == 0 and "Usage:" in out
    assert "x>=" not in out and "x<=" not in out and "<=x" not in out, out

HUGE = "99999999999999999999"  # clamped to about 68 years, as coreutils timeout clamps


def test_huge_durations_are_clamped_not_internal_errors(janitor):
    result = run([script("alarm-wait"), HUGE, "--", "true"], env=ENV)
    assert result.returncode == 0, result.stderr
    sleeper = janitor.popen(["sleep", "30"])
    result = run([script("sigsend"), "--wait", HUGE, "TERM", str(sleeper.pid)], env=ENV)
    assert result.returncode == 0, result.stderr
    assert sleeper.wait(10) == -15


USAGE = {prog: 125 if prog == "alarm-wait" else 2 for prog in COMMANDS}


@pytest.mark.parametrize("prog", COMMANDS)
def test_closed_stderr_keeps_the_exit_codes(prog):
    # Python sets sys.stderr to None when fd 2 is closed: the error lines are
    # lost, but the documented exit code must not become a silent 1.
    cases = [(["--no-such-option"], USAGE[prog]), (["--version"], 0)]
    # the two usage errors caught before typer parses anything
    cases += {"sigsend": [(["-9", "1"], 2)], "alarm-wait": [(["-5"], 125)]}.get(prog, [])
    for args, code in cases:
        result = run(["bash", "-c", 'exec "$0" "$@" 2>&-', script(prog), *args], env=ENV)
        assert result.returncode == code, (args, result.stdout)


@pytest.mark.timeout(30)
def test_ctrl_c_in_a_plain_python_wait_is_death_by_sigint(janitor):
    # sigsend --wait waits in poll(2) with Python's own SIGINT handling; typer
    # turned the KeyboardInterrupt into a returned 130, and the command exited
    # 130 instead of dying of SIGINT (which a calling shell loop needs).
    import signal

    from conftest import holds_pidfd, wait_for

    sleeper = janitor.popen(["sleep", "30"])
    proc = janitor.popen([script("sigsend"), "--wait", "30", "0", str(sleeper.pid)],
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL), env=ENV)
    wait_for(lambda: holds_pidfd(proc.pid), 10, "sigsend waiting on its pidfd")
    proc.send_signal(signal.SIGINT)
    assert proc.wait(10) == -signal.SIGINT
