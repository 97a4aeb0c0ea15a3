"""--help, --version and every usage error are byte for byte what they were.

tests/data/cli_outputs.json was recorded by tools/cli_outputs.py (before the
fast argv path existed): each case is one command line with the stdout,
stderr and exit status it gave. Each is run again through the installed
console script, in an empty directory that must stay empty.
"""

import json
import sys

import pytest

from conftest import ROOT, SCRIPTS

sys.path.insert(0, str(ROOT / "tools"))
import cli_outputs  # noqa: E402

RECORDED = json.loads(cli_outputs.DATA.read_text())


@pytest.fixture(scope="module")
def outputs_now():
    return cli_outputs.run_all(RECORDED, SCRIPTS)


def test_the_corpus_covers_every_command_help_and_errors():
    progs = {prog for prog, _ in cli_outputs.commands()}
    assert {e["prog"] for e in RECORDED} == progs
    for prog in progs:
        cases = [e for e in RECORDED if e["prog"] == prog]
        assert any(e["args"] == ["--help"] and e["status"] == 0 and e["stdout"].startswith("Usage: ") for e in cases)
        assert sum(e["status"] not in (0,) for e in cases) >= 20, prog


@pytest.mark.timeout(300)
def test_outputs_are_byte_for_byte_the_recorded_ones(outputs_now):
    differ = [(e["prog"], e["args"], {k: (e[k], now[k]) for k in ("status", "stdout", "stderr") if e[k] != now[k]})
              for e, now in zip(RECORDED, outputs_now) if e != now]
    assert not differ, f"{len(differ)} of {len(RECORDED)} differ; first: {differ[:3]}"
