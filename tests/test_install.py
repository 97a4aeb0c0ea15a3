"""`pip install .` makes pyipc a real Unix tool: man pages and completions land
where man-db, bash-completion, zsh and fish look under the install prefix.

One wheel is built from a copy of the checkout (no build isolation, so no
network: the [test] extra brings setuptools) and installed without its
dependencies into a fresh venv; the checks then use only that venv's files.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT / "tools"))
import gendocs  # noqa: E402

PROGS = [prog for prog, _ in gendocs.commands()]
BASH_COMPLETION = Path("/usr/share/bash-completion/bash_completion")
SKIP_IN_COPY = shutil.ignore_patterns(".git", ".venv", "build", "dist", "__pycache__", "*.egg-info", "*.so",
                                      ".pytest_cache", "data")


@pytest.fixture(scope="module")
def prefix(tmp_path_factory) -> Path:
    """A fresh venv with pyipc installed from a wheel, as `pip install .` does."""
    work = tmp_path_factory.mktemp("install")
    source, wheels, venv = work / "src", work / "wheels", work / "venv"
    shutil.copytree(ROOT, source, ignore=SKIP_IN_COPY)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", str(wheels), str(source)],
                   check=True, timeout=180, stdin=subprocess.DEVNULL)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    wheel = next(wheels.glob("pyipc-*.whl"))
    subprocess.run([*pip, "--python", str(venv / "bin" / "python"), "install", "--no-deps", "--no-index", str(wheel)],
                   check=True, timeout=180, stdin=subprocess.DEVNULL)
    return venv


def env_for(prefix: Path, home: Path) -> dict[str, str]:
    """A user's environment with only the venv's bin added to a plain PATH."""
    return {"PATH": f"{prefix / 'bin'}:/usr/bin:/bin", "HOME": str(home), "TERM": "dumb", "LANG": "C.UTF-8",
            "XDG_DATA_DIRS": f"{prefix / 'share'}:/usr/local/share:/usr/share"}


def test_every_page_and_completion_file_is_installed(prefix):
    for prog in PROGS:
        for path, source in [(f"share/man/man1/{prog}.1", f"man/{prog}.1"),
                             (f"share/bash-completion/completions/{prog}.bash", f"completions/{prog}.bash"),
                             (f"share/zsh/site-functions/_{prog}", f"completions/_{prog}"),
                             (f"share/fish/vendor_completions.d/{prog}.fish", f"completions/{prog}.fish")]:
            assert (prefix / path).read_text() == (ROOT / source).read_text(), path


def test_man_finds_the_page_through_path(prefix, tmp_path):
    if shutil.which("man") is None:
        pytest.skip("man is not installed (.ci/run installs man-db)")
    found = subprocess.run(["man", "-w", "pipe-run"], capture_output=True, text=True, timeout=30, cwd=tmp_path,
                           env=env_for(prefix, tmp_path))
    assert found.returncode == 0, found.stderr
    assert Path(found.stdout.strip()) == prefix / "share" / "man" / "man1" / "pipe-run.1"


def test_bash_completion_loads_the_installed_file(prefix, tmp_path):
    if not BASH_COMPLETION.exists():
        pytest.skip("bash-completion is not installed (.ci/run installs it)")
    for prog in PROGS:
        out = subprocess.run(["bash", "--norc", "--noprofile", "-c",
                              f"source {BASH_COMPLETION}; __load_completion {prog} && complete -p {prog}"],
                             capture_output=True, text=True, timeout=30, cwd=tmp_path, env=env_for(prefix, tmp_path))
        assert out.stdout.strip() == f"complete -F _pyipc_{prog.replace('-', '_')} {prog}", (prog, out.stderr)


def test_zsh_compinit_finds_the_installed_functions(prefix, tmp_path):
    if shutil.which("zsh") is None:
        pytest.skip("zsh is not installed")
    names = " ".join(f"$_comps[{prog}]" for prog in PROGS)
    out = subprocess.run(["zsh", "-f", "-c", f"fpath=({prefix / 'share/zsh/site-functions'} $fpath); "
                          f"autoload -Uz compinit && compinit -u -D && print -r -- {names}"],
                         capture_output=True, text=True, timeout=30, cwd=tmp_path, env=env_for(prefix, tmp_path))
    assert out.stdout.split() == [f"_{prog}" for prog in PROGS], out.stderr


def test_fish_finds_the_vendor_completions(prefix, tmp_path):
    if shutil.which("fish") is None:
        pytest.skip("fish is not installed")
    for prog in PROGS:
        out = subprocess.run(["fish", "-c", f"complete -C '{prog} --hel'"], capture_output=True, text=True,
                             timeout=30, cwd=tmp_path, env=env_for(prefix, tmp_path))
        assert out.stdout.split("\t")[0] == "--help", (prog, out.stdout, out.stderr)


def test_bash_tab_completes_an_option_with_only_the_installed_files(prefix, tmp_path):
    # bash-completion finds <prefix>/share/bash-completion/completions through
    # XDG_DATA_DIRS (releases from 2.12 on also look next to the command's bin/).
    rc = tmp_path / "rc"
    if BASH_COMPLETION.exists():
        loader = f"source {BASH_COMPLETION}"
    else:  # load the installed file as bash-completion would
        loader = f"source {prefix / 'share/bash-completion/completions/pipe-run.bash'}"
    rc.write_text(f"PS1='$ '\n{loader}\nbind 'set show-all-if-ambiguous on'\n")
    shell = pexpect.spawn("bash", ["--noprofile", "--rcfile", str(rc), "-i"], timeout=15, cwd=str(tmp_path),
                          env=env_for(prefix, tmp_path), encoding="utf-8")
    try:
        shell.expect_exact("$ ")
        shell.send("pipe-run --pipefail-s\t")
        shell.expect_exact("pipe-run --pipefail-sigpipe-ok ")
        shell.send("\x15")
        shell.sendline("exit")
        shell.expect(pexpect.EOF)
    finally:
        shell.close(force=True)


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_python_m_pyipc_prints_the_installed_scripts(prefix, tmp_path, shell):
    # Run from elsewhere than the checkout, with the installed package only:
    # the scripts come from the distribution's RECORD.
    out = subprocess.run([str(prefix / "bin" / "python"), "-m", "pyipc", "completion", shell], capture_output=True,
                         text=True, timeout=30, cwd=tmp_path, env=env_for(prefix, tmp_path))
    assert out.returncode == 0, out.stderr
    for prog in PROGS:
        assert f"# {shell} completion for {prog}, generated by tools/gendocs.py" in out.stdout, prog
    if shell == "bash":
        installed = sorted((prefix / "share/bash-completion/completions").iterdir())
        assert out.stdout == "".join(path.read_text() for path in installed)


@pytest.mark.parametrize("shell, load, check", [
    ("bash", 'eval "$(python -m pyipc completion bash)"', "complete -p pipe-run"),
    ("zsh", 'autoload -Uz compinit && compinit -u -D && eval "$(python -m pyipc completion zsh)"',
     "print -r -- $_comps[pipe-run] && whence -w _pipe-run"),
    ("fish", "python -m pyipc completion fish | source", "complete -C 'pipe-run --pipef'"),
])
def test_the_printed_scripts_load_as_the_readme_says(prefix, tmp_path, shell, load, check):
    if shutil.which(shell) is None:
        pytest.skip(f"{shell} is not installed")
    args = {"bash": ["bash", "--norc", "--noprofile", "-c"], "zsh": ["zsh", "-f", "-c"], "fish": ["fish", "--no-config", "-c"]}
    out = subprocess.run([*args[shell], f"{load}; {check}"], capture_output=True, text=True, timeout=30, cwd=tmp_path,
                         env=env_for(prefix, tmp_path))
    assert out.returncode == 0, out.stderr
    expected = {"bash": "complete -F _pyipc_pipe_run pipe-run", "zsh": "_pipe-run\n_pipe-run: function",
                "fish": "--pipefail\t"}[shell]
    assert expected in out.stdout, out.stdout


def test_python_m_pyipc_usage_errors(prefix, tmp_path):
    out = subprocess.run([str(prefix / "bin" / "python"), "-m", "pyipc", "completion", "tcsh"], capture_output=True,
                         text=True, timeout=30, cwd=tmp_path, env=env_for(prefix, tmp_path))
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr.startswith("python -m pyipc: expected 'completion bash'"), out.stderr


def test_the_installed_package_is_typed(prefix):
    # PEP 561: py.typed (and the C helper's stub) travel with the package.
    (site,) = prefix.glob("lib/python3*/site-packages")
    assert (site / "pyipc" / "py.typed").exists()
    assert (site / "pyipc" / "_speedups.pyi").exists()
