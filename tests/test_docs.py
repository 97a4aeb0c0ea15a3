"""Man pages and completions stay in step with the commands' options.

tools/gendocs.py renders man/ and completions/ from each command's Typer app;
these tests fail when a committed file is stale, when an option is missing from
a man page or a completion file, or when a man page does not lint clean.
"""

import importlib
import os
import re
import shutil
import subprocess
import sys

import pexpect
import pytest

from conftest import ROOT, script

sys.path.insert(0, str(ROOT / "tools"))
import gendocs  # noqa: E402

COMMANDS = gendocs.commands()
PROGS = [prog for prog, _ in COMMANDS]
SECTIONS = ["NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "EXIT STATUS", "EXAMPLES", "SEE ALSO"]


def command_of(prog):
    module_name = dict(COMMANDS)[prog]
    module = importlib.import_module(module_name)
    import typer

    return module, typer.main.get_command(module.app)


def test_every_command_is_registered():
    assert {"pipe-run", "mkfifo-cat", "fifo-send", "fifo-recv", "sigsend", "alarm-wait", "reap-watch"} <= set(PROGS)


@pytest.mark.parametrize("prog", PROGS)
def test_command_module_has_what_the_generator_needs(prog):
    module, _ = command_of(prog)
    assert module.PROG == prog
    for key in ("summary", "description", "exit_status", "examples", "see_also"):
        assert module.MANUAL[key], key
    script(prog)  # installed


def test_every_launcher_is_installed_and_executable():
    # scripts/<prog> is what pip installs as the command (pyproject's script-files)
    launchers = sorted((ROOT / "scripts").iterdir())
    assert [path.name for path in launchers] == sorted(PROGS)
    for path in launchers:
        assert os.access(path, os.X_OK), path
        assert "import re\n" not in path.read_text()


def test_generated_files_are_not_stale():
    stale = [str(path.relative_to(ROOT)) for path, text in gendocs.outputs().items()
             if not path.exists() or path.read_text() != text]
    assert not stale, f"run: python tools/gendocs.py (stale: {stale})"


@pytest.mark.parametrize("prog", PROGS)
def test_every_option_is_in_the_man_page_and_every_completion(prog):
    _, command = command_of(prog)
    man = (ROOT / "man" / f"{prog}.1").read_text()
    bash = (ROOT / "completions" / f"{prog}.bash").read_text()
    zsh = (ROOT / "completions" / f"_{prog}").read_text()
    fish = (ROOT / "completions" / f"{prog}.fish").read_text()
    options = [name for param in command.params if param.param_type_name == "option"
               for name in (*param.opts, *param.secondary_opts)]
    assert options
    for name in options:
        assert f"\\fB{name.replace('-', chr(92) + '-')}\\fR" in man, (prog, name, "man")
        assert re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", bash), (prog, name, "bash")
        assert re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", zsh), (prog, name, "zsh")
        flag = f"-l {name[2:]}" if name.startswith("--") else f"-s {name[1:]}"
        assert re.search(rf"{re.escape(flag)}(?![\w-])", fish), (prog, name, "fish")


@pytest.mark.parametrize("prog", PROGS)
def test_man_page_has_the_sections_and_lints_clean(prog):
    page = ROOT / "man" / f"{prog}.1"
    text = page.read_text()
    headings = re.findall(r"^\.SH (.+)$", text, re.M)
    for section in SECTIONS:
        assert section in headings, section
    if shutil.which("groff") is None:
        pytest.fail("groff is not installed (.ci/run installs groff-base)")
    lint = subprocess.run(["groff", "-man", "-ww", "-z", str(page)], capture_output=True, text=True, timeout=30)
    assert lint.returncode == 0 and lint.stderr == "", lint.stderr


@pytest.mark.parametrize("prog", PROGS)
def test_bash_completion_file_is_valid_bash(prog):
    result = subprocess.run(["bash", "-n", str(ROOT / "completions" / f"{prog}.bash")], capture_output=True, timeout=30)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("tool, flag, name", [("zsh", "-n", "_{prog}"), ("fish", "--no-execute", "{prog}.fish")])
def test_zsh_and_fish_files_parse_when_those_shells_exist(tool, flag, name):
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} is not installed")
    for prog in PROGS:
        path = ROOT / "completions" / name.format(prog=prog)
        result = subprocess.run([tool, flag, str(path)], capture_output=True, timeout=30)
        assert result.returncode == 0, (prog, result.stderr)


def test_bash_tab_completes_options_without_python(tmp_path):
    # A PATH without python: the completion must not start it on each TAB.
    rc = tmp_path / "rc"
    rc.write_text(f"PS1='$ '\nsource {ROOT / 'completions' / 'pipe-run.bash'}\nbind 'set show-all-if-ambiguous on'\n")
    shell = pexpect.spawn("bash", ["--noprofile", "--rcfile", str(rc), "-i"], timeout=10,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "TERM": "dumb"}, encoding="utf-8")
    try:
        shell.expect_exact("$ ")
        shell.send("pipe-run --pipef\t")
        shell.expect_exact("--pipefail")
        shell.send("\x15")  # kill the line
        shell.send("pipe-run --report \t\t")
        shell.expect("json")
        shell.send("\x15")
        shell.sendline("exit")
        shell.expect(pexpect.EOF)
    finally:
        shell.close(force=True)


def test_fish_completes_options_values_and_signals():
    if shutil.which("fish") is None:
        pytest.skip("fish is not installed")
    script_text = (f"source {ROOT / 'completions' / 'pipe-run.fish'}; complete -C 'pipe-run --pipef'; "
                   f"complete -C 'pipe-run --report '; "
                   f"source {ROOT / 'completions' / 'sigsend.fish'}; complete -C 'sigsend TE'")
    out = subprocess.run(["fish", "--no-config", "-c", script_text], capture_output=True, text=True, timeout=30).stdout
    words = [line.split("\t")[0] for line in out.splitlines()]
    assert "--pipefail" in words and {"json", "text"} <= set(words) and "TERM" in words
