"""The EXAMPLES of every command's man page, and which test runs each one.

The examples are read from each command's MANUAL["examples"] (the source of
the man pages; the commands are those tools/gendocs.py writes pages for). A
test that runs an example says so with @covers(prog, start) (start: the
beginning of the example's command line, enough to pick one) and gets the
text with example(prog, start). tests/e2e/test_man_examples.py reads every
test file's @covers decorators (statically, without running anything) and
fails when an example has no test: add an example to a MANUAL and you must add
the test that runs it.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def _pages() -> dict[str, dict]:
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import gendocs
    finally:
        sys.path.remove(str(ROOT / "tools"))
    return {prog: importlib.import_module(module).MANUAL for prog, module in gendocs.commands()}


PAGES = _pages()


def every_example() -> set[tuple[str, str]]:
    """(prog, command line) for every EXAMPLE of every page."""
    return {(prog, text) for prog, page in PAGES.items() for text, _ in page["examples"]}


def example(prog: str, start: str) -> str:
    """The one example of prog's page whose command line starts with start."""
    found = [text for text, _ in PAGES[prog]["examples"] if text.startswith(start)]
    assert len(found) == 1, f"{prog}(1) has {len(found)} examples starting {start!r}, not one"
    return found[0]


def described(prog: str, start: str) -> str:
    """What the page says that example does."""
    text = example(prog, start)
    return next(description for line, description in PAGES[prog]["examples"] if line == text)


def covers(prog: str, start: str):
    """Marks a test as the one that runs this example (read statically by
    test_man_examples.py; stack one per example for a test that runs several)."""
    example(prog, start)  # fails at import if no such example

    def mark(function):
        function.covers = [*getattr(function, "covers", []), (prog, start)]
        return function

    return mark


def replaced(text: str, *pairs: tuple[str, str]) -> str:
    """text with each (old, new) replaced; old must be there, so that a test
    that stands in a pid, a path or a shorter duration notices when the
    example changes under it."""
    for old, new in pairs:
        assert old in text, f"{old!r} is no longer in the example {text!r}"
        text = text.replace(old, new)
    return text
