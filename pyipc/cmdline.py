"""Splitting one command line into argv, POSIX-shell-like, with no expansion."""

from __future__ import annotations

from .errors import UsageError

_BLANKS = " \t\n"
_ESCAPED_IN_DOUBLE_QUOTES = '$`"\\\n'  # the only characters a backslash escapes inside "..."


def split_command(line: str) -> list[str]:
    """'grep -v "a b"' -> ['grep', '-v', 'a b']. Quotes and backslashes as sh
    removes them: '...' keeps everything; inside "..." a backslash escapes only
    $ ` " \\ and newline (and stays before anything else); outside quotes it
    escapes any character, and a backslash-newline joins lines. No globbing, no
    $variables, no comments. Raises UsageError for an empty command, unbalanced
    quotes, or a trailing lone backslash."""
    try:
        argv = _words(line)
    except ValueError as exc:
        raise UsageError(f"cannot split command {line!r}: {exc}") from None
    if not argv:
        raise UsageError("empty command" if not line.strip() else f"empty command {line!r}")
    return argv


def _words(line: str) -> list[str]:
    words: list[str] = []
    word: list[str] = []
    in_word = False  # "" and '' make an (empty) word too
    i, n = 0, len(line)
    while i < n:
        c = line[i]
        if c in _BLANKS:
            if in_word:
                words.append("".join(word))
                word, in_word = [], False
            i += 1
        elif c == "\\":
            if i + 1 == n:
                raise ValueError("no escaped character after the last backslash")
            if line[i + 1] != "\n":  # backslash-newline: a line continuation, removed
                word.append(line[i + 1])
                in_word = True
            i += 2
        elif c == "'":
            end = line.find("'", i + 1)
            if end < 0:
                raise ValueError("no closing quotation")
            word.append(line[i + 1:end])
            in_word, i = True, end + 1
        elif c == '"':
            in_word, i = True, i + 1
            while True:
                if i == n:
                    raise ValueError("no closing quotation")
                c = line[i]
                if c == '"':
                    i += 1
                    break
                if c == "\\" and i + 1 < n and line[i + 1] in _ESCAPED_IN_DOUBLE_QUOTES:
                    if line[i + 1] != "\n":
                        word.append(line[i + 1])
                    i += 2
                else:
                    word.append(c)
                    i += 1
        else:
            word.append(c)
            in_word, i = True, i + 1
    if in_word:
        words.append("".join(word))
    return words
