"""The README's quick start is a contract: keep it and .ci/run in step."""

import re

from conftest import ROOT


def shell_blocks(text):
    return re.findall(r"```sh\n(.*?)```", text, re.S)


def test_ci_runs_exactly_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    quick_start = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    install, test = [block.strip() for block in shell_blocks(quick_start)][:2]
    assert install == 'pip install . && pipe-run "ls" "wc -l"'
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert test in ci, f"the README's test command is not a line of .ci/run: {test!r}"


def test_ci_treats_no_tests_as_failure():
    ci = (ROOT / ".ci" / "run").read_text()
    assert '"$rc" -eq 5' in ci and "exit 1" in ci
