"""TAB completion where users type, in each real shell (pexpect).

Every shell loads only the generated files from completions/; PATH holds a
few made-up commands so that what completes is known, and the working
directory one file. Each case types a line, presses TAB and waits for the text
only a completion can produce (the typed text never contains it).
"""

from __future__ import annotations

import re
import shutil
import subprocess

import pexpect
import pytest

from conftest import ROOT

PROGS = ["pipe-run", "reap-watch", "sigsend", "alarm-wait"]


def start_shell(shell: str, home) -> pexpect.spawn:
    bin_dir = home / "bin"
    bin_dir.mkdir()
    for name in ("zzsolo", "zzgrepper", "zzgrapper"):
        (bin_dir / name).write_text("#!/bin/sh\n")
        (bin_dir / name).chmod(0o755)
    (home / "unique.txt").write_text("")
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(home), "TERM": "dumb", "LANG": "C.UTF-8"}
    completions = ROOT / "completions"
    if shell == "bash":
        (home / "rc").write_text("PS1='$ '\n" + "".join(f"source {completions / prog}.bash\n" for prog in PROGS)
                                 + "bind 'set show-all-if-ambiguous on'\nbind 'set bell-style none'\n")
        args = ["--noprofile", "--rcfile", str(home / "rc"), "-i"]
    elif shell == "zsh":
        (home / ".zshrc").write_text(f"PS1='$ '\nfpath=({completions} $fpath)\nautoload -Uz compinit && compinit -u -D\n")
        env["ZDOTDIR"] = str(home)
        args = ["-i"]
    else:
        init = "; ".join(f"source {completions / prog}.fish" for prog in PROGS)
        args = ["--no-config", "-i", "-C", f"{init}; function fish_prompt; echo '$ '; end"]
    child = pexpect.spawn(shell, args, env=env, cwd=str(home), encoding="utf-8", timeout=15, dimensions=(40, 200))
    child.expect_exact("$ ")
    return child


@pytest.fixture(params=["bash", "zsh", "fish"])
def shell(request, tmp_path):
    if shutil.which(request.param) is None:
        pytest.skip(f"{request.param} is not installed (.ci/run installs zsh and fish)")
    child = start_shell(request.param, tmp_path)
    yield request.param, child
    child.close(force=True)


def complete(shell: tuple[str, pexpect.spawn], typed: str, expected: str, *, listing: bool = False) -> None:
    """Type `typed`, press TAB, and wait for `expected` (a regex) on the screen.

    fish shows a list of several matches in a pager that a dumb terminal does
    not draw: there, a listing is asked of the same shell with `complete -C`.
    """
    name, child = shell
    if listing and name == "fish":
        child.sendline(f"complete -C '{typed}'")
        child.expect(expected)
        return
    child.send(typed + "\t")
    try:
        child.expect(expected)
    finally:
        child.send("\x03")  # drop the line, back to a prompt


@pytest.mark.parametrize("typed, expected", [
    ('pipe-run "zzso', r'"zzsolo'),                     # a command inside a double-quoted stage
    ("pipe-run 'zzso", r"'zzsolo"),                     # ... and a single-quoted one
    ('pipe-run "zzsolo -c uniq', r'"zzsolo -c unique\.txt'),  # then files inside the same quotes
    ("pipe-run zzso", r"zzsolo"),                       # unquoted, as before
    ("reap-watch --group 'zzgre", r"'zzgrepper"),
    ("pipe-run -s sigte", r"(?i)sigterm"),              # signal names in any case, with SIG
    ("pipe-run --signal=te", r"(?i)term"),
    ("alarm-wait --until hu", r"(?i)hup"),
    ("sigsend -s SIGK", r"SIGKILL"),
    ("pipe-run --report=j", r"--report=json"),          # --opt=<TAB> values
])
def test_completes_where_users_type(shell, typed, expected):
    complete(shell, typed, expected)


@pytest.mark.parametrize("typed", ["pipe-run --report ", "pipe-run --report="])
def test_lists_the_values_of_an_option(shell, typed):
    complete(shell, typed, r"json(\t[^\n]*)?\s+(--report=)?text", listing=True)


@pytest.mark.parametrize("typed", ["reap-watch --pid {}", "reap-watch --pid={}", "sigsend TERM {}"])
def test_completes_pids_where_a_pid_is_expected(shell, typed):
    sleeper = subprocess.Popen(["sleep", "60"], stdin=subprocess.DEVNULL)
    try:
        pid = str(sleeper.pid)
        # All digits but the last: the pid comes back completed or listed.
        complete(shell, typed.format(pid[:-1]), rf"(?<!\d){pid}(?!\d)", listing=True)
    finally:
        sleeper.kill()
        sleeper.wait()


def test_the_pid_list_is_read_from_proc_not_ps():
    # A minimal system may lack ps (procps); /proc is always there for pyipc.
    for prog in ("reap-watch", "sigsend"):
        for name in (f"{prog}.bash", f"_{prog}", f"{prog}.fish"):
            text = (ROOT / "completions" / name).read_text()
            assert "/proc" in text and not re.search(r"\bps -e|(?<!\w)_pids\b|__fish_complete_pids", text), name
