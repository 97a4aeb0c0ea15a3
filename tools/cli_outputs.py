#!/usr/bin/env python3
"""Record what every command prints for --help, --version and usage errors.

tests/e2e/test_cli_outputs.py runs each recorded command line again and
compares stdout, stderr and the exit status byte for byte: the messages a user
sees must not change when the way argv is parsed changes. The corpus is
generated from each command's Typer parameters (every option given without its
value, with a value it does not take, with a bad number or choice, misspelt;
help in every position) plus command lines that reach each command's own
usage checks. Every case ends at once and touches nothing (it runs in an empty
directory, which must still be empty afterwards).

    python tools/cli_outputs.py            # rewrite tests/data/cli_outputs.json
    python tools/cli_outputs.py --check    # exit 1 if an output differs

Rewrite it only when a message or an option is meant to change, and say so in
the commit.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "cli_outputs.json"
SCRIPTS = Path(sysconfig.get_path("scripts"))

# Command lines that reach each command's own checks (after Typer has parsed).
EXTRA = {
    "pipe-run": [
        ["-o", "x", "-a", "y", "true"], ["--cycle", "-i", "x", "a", "b"], ["--report-file", "r", "true"],
        ["--kill-after", "1", "true"], ["-k1", "true"], ["--timeout", "abc", "true"], ["--timeout", "-1", "true"],
        ["--timeout=1", "-s", "NOPE", "true"], ["--signal=NOPE", "true"], ["-sNOPE", "true"], [""], ["'unbalanced"],
        ["--label", "--merge-stderr", "true"],
        ["--shell=yes", "true"], ["-i", "missing-file", "true"], ["--report", "xml", "true"], ["--report=TEXT", "true"],
        ["--", "--pipefail"], ["true", "--nope"], ["-i"], ["-io", "true"],
        # shell habits: an option meant for a stage, operators (each kind of advice), assignments only
        ["ls", "-la", "wc -l"], ["--timeout", "5", "grep x", "-v"], ["ls | wc -l"], ["cat", "ls|grep x|wc -l"],
        ["ls |"], ["echo hi > out.txt"], ["echo hi>out"], ["sort < in"], ["cat <<<x"], ["make 2>&1", "cat"],
        ["make |& cat"], ["a&&b"], ["a; b"], ["sleep 1 &"], ["(cd /; ls)"], ["echo $(date)"], ["A=1 B=2"],
        ["--stage-grace", "1", "--all-at-once", "true"], ["--stage-grace=1", "--cycle", "a", "b"],
        ["--stage-grace", "x", "true"], ["--pipefail=sigpipe-ok", "true"],
    ],
    "sigsend": [
        ["-9", "1"], ["-TERM", "1"], ["-kill", "1"], ["TERM"], ["NOPE", "1"], ["TERM", "abc"], ["TERM", "-1"],
        ["TERM", "--", "-1"], ["--queue", "x", "TERM", "1"], ["--queue", "-5", "TERM", "0"],
        ["--queue=99999999999", "TERM", "1"], ["--escalate", "KILL", "TERM", "1"], ["--wait", "x", "TERM", "1"],
        ["--wait", "1", "--escalate", "NOPE", "TERM", "1"], ["-l", "--", "-1"], ["-l", "999"], ["-l", "TERM"],
        ["-l", "143"], ["-l", "1", "2"], ["--list", "0"], ["--pidfile", "missing", "TERM"], ["0"],
        ["--all", "--wait", "1", "TERM", "--", "-1"], ["RTMAX+1", "1"], ["TERM", "1.5"], ["--", "-9", "1"],
    ],
    "alarm-wait": [
        ["-5"], ["-1.5s"], ["--count", "-1", "--every", "1"], ["--count", "x"], ["abc"], ["--until", "NOPE", "1"],
        ["--until", "KILL", "1"], ["--until", "ALRM", "1"], ["--count", "3"], ["--count", "3", "1"],
        ["--every", "0"], ["--every=-1"], ["0", "--"], ["-k", "1", "0"], ["--preserve-status", "0"],
        ["--until", "USR1", "1", "--", "true"], ["-s", "NOPE", "1", "--", "true"], ["-k", "x", "1", "true"],
        ["-sKILL", "-kx", "1", "true"], ["0", "no-such-command-pyipc"], ["1", "--", "no-such-command-pyipc"],
        ["--every", "1", "--count=0", "--until", "STOP", "1"], ["1x"], ["--count", "1_0", "--every", "x"],
    ],
    "reap-watch": [
        ["--pid", "abc"], ["--pid", "0"], ["--pid", "-1"], ["--pid", "99999999999"], ["--timeout", "1", "true"],
        ["--pid", "1", "true"], ["--grace", "1"], [""], ["--zombies", "true"], ["--grace", "x", "true"],
        ["--pid", "1", "--timeout", "x"], ["-o"], ["--wait-all", "--zombies"], ["'unbalanced"],
        ["true", "ls | wc -l"],
    ],
    "fifo-send": [
        ["--mode", "999", "p"], ["--mode=abc", "p"], ["--timeout", "x", "p"], ["-f", "bogus", "p"],
        ["-fLINE", "p"], ["p", "a\nb"], ["missing-path", "msg"],
        ["--no-wait", "missing", "x"], ["--timeout", "-2", "p"],
    ],
    "fifo-recv": [
        ["--count", "-1", "p"], ["--count", "x", "p"], ["-n"], ["-nx", "p"], ["missing"], ["p", "q"],
        ["--mode", "9", "p"], ["--timeout", "1y", "p"], ["-f", "json", "p"], ["--count", "0", "missing"],
    ],
    "mkfifo-cat": [
        ["--mode", "8", "p"], ["--mode", "-1", "p"], ["--timeout", "-1", "p"], ["--timeout", "x", "p"],
        ["p", "q"], ["--once=1", "p"],
    ],
}


# Generated cases that would start real work (mkfifo-cat serving "-" forever,
# reap-watch reporting pids and times): left out.
SKIP = {
    "mkfifo-cat": [["-"], ["--", "--help"]],
    "reap-watch": [["-"], ["--", "--help"]],
}


def commands() -> list[tuple[str, str]]:
    sys.path.insert(0, str(ROOT / "tools"))
    import gendocs

    return gendocs.commands()


def generated_cases(prog: str, module_name: str) -> list[list[str]]:
    """Command lines derived from the command's Typer parameters."""
    import importlib

    import typer

    command = typer.main.get_command(importlib.import_module(module_name).app)
    cases = [[], ["--help"], ["-h"], ["--version"], ["--help", "x", "y"], ["x", "--help"], ["--", "--help"],
             ["--nope"], ["-Z"], ["--version=1"], ["--help=1"], ["--nope", "--help"], ["--help", "--nope"], ["-"]]
    for param in command.params:
        if param.param_type_name != "option":
            continue
        names = [*param.opts, *param.secondary_opts]
        takes_value = not param.is_flag and not getattr(param, "count", False)
        for name in names:
            if takes_value:
                cases.append([name])  # its value is missing
                cases.append(["x", name] if command.allow_interspersed_args else [name])
                kind = param.type.name
                if kind in ("integer", "integer range", "float"):
                    cases += [[name, "abc", "x"], [f"{name}=1.5", "x"] if kind != "float" else [name, "1e", "x"]]
                choices = getattr(param.type, "choices", None)
                if choices:
                    cases += [[name, "bogus", "x"], [name, str(list(choices)[0]).upper(), "x"]]
            else:
                if name.startswith("--"):
                    cases.append([f"{name}=1", "x"])
            if name.startswith("--") and len(name) > 4 and name not in ("--help", "--version"):
                cases.append([name[:-1], "x"])  # misspelt: "did you mean"
    return cases


def corpus() -> list[dict]:
    entries = []
    for prog, module_name in commands():
        seen = set()
        for args in generated_cases(prog, module_name) + EXTRA.get(prog, []):
            if tuple(args) not in seen and args not in SKIP.get(prog, []):
                seen.add(tuple(args))
                entries.append({"prog": prog, "args": args})
    return entries


def environment() -> dict:
    """No terminal width or debug settings from the caller: help is wrapped at 80."""
    return {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "PYIPC_DEBUG")}


def run_case(entry: dict, scripts: Path = SCRIPTS) -> dict:
    with tempfile.TemporaryDirectory(prefix="cli-outputs-") as tmp:
        result = subprocess.run([str(scripts / entry["prog"]), *entry["args"]], cwd=tmp, env=environment(),
                                stdin=subprocess.DEVNULL, capture_output=True, timeout=20)
        left = os.listdir(tmp)
    if left:
        raise RuntimeError(f"{entry['prog']} {entry['args']} left {left} behind: not a side-effect-free case")
    return {**entry, "status": result.returncode, "stdout": result.stdout.decode("utf-8", "surrogateescape"),
            "stderr": result.stderr.decode("utf-8", "surrogateescape")}


def run_all(entries: list[dict], scripts: Path = SCRIPTS) -> list[dict]:
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(lambda e: run_case(e, scripts), entries))


def main(argv: list[str]) -> int:
    if "--check" in argv:
        recorded = json.loads(DATA.read_text())
        differ = [f"{e['prog']} {e['args']}" for e, now in zip(recorded, run_all(recorded)) if e != now]
        for line in differ:
            print(f"differs: {line}")
        return 1 if differ else 0
    results = run_all(corpus())
    DATA.parent.mkdir(parents=True, exist_ok=True)
    DATA.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {len(results)} cases to {DATA.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
