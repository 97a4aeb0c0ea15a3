"""Splitting one command line into argv, POSIX-shell-like, with no expansion."""

from __future__ import annotations

import shlex

from .errors import UsageError


def split_command(line: str) -> list[str]:
    """'grep -v "a b"' -> ['grep', '-v', 'a b']. Quotes and backslashes as in sh;
    no globbing, no $variables, no comments. Raises UsageError for an empty
    command or unbalanced quotes."""
    try:
        argv = shlex.split(line, comments=False, posix=True)
    except ValueError as exc:  # shlex: "No closing quotation" / "No escaped character"
        raise UsageError(f"cannot split command {line!r}: {str(exc)[0].lower()}{str(exc)[1:]}") from None
    if not argv:
        raise UsageError("empty command" if not line.strip() else f"empty command {line!r}")
    return argv
