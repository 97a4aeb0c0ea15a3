"""Splitting one command line into argv, POSIX-shell-like, with no expansion."""

from __future__ import annotations

from .errors import ShellOperatorError, UsageError

_BLANKS = " \t\n"
_ESCAPED_IN_DOUBLE_QUOTES = '$`"\\\n'  # the only characters a backslash escapes inside "..."
# What sh takes as an operator wherever it stands unquoted, even glued to a
# word (echo hi>out, a&&b, 2>&1, ls|wc): POSIX's, and bash's own (|& &> &>>
# <<< ;& ;;&), longest first, so that the token reported is the one sh reads.
_OPERATOR_CHARS = "|&;<>()"
_OPERATORS = ("<<-", "&>>", "<<<", ";;&",
              "&&", "||", ";;", "<<", ">>", "<&", ">&", "<>", ">|", "|&", "&>", ";&")
_NAME_START = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_")
_NAME_CHARS = _NAME_START | frozenset("0123456789")


def split_command(line: str) -> list[str]:
    """'grep -v "a b"' -> ['grep', '-v', 'a b']. Quotes and backslashes as sh
    removes them: '...' keeps everything; inside "..." a backslash escapes only
    $ ` " \\ and newline (and stays before anything else); outside quotes it
    escapes any character, and a backslash-newline joins lines. No globbing, no
    $variables, no comments. Raises UsageError for an empty command, unbalanced
    quotes, or a trailing lone backslash; ShellOperatorError (a UsageError that
    carries the token and its position) for an unquoted operator, | & ; < > ( )
    or the $( or ` of a command substitution, which sh would not take as part
    of a word. Leading NAME=value words are words here; parse_command tells them apart."""
    words, _ = _scan(line)
    if not words:
        raise UsageError("empty command" if not line.strip() else f"empty command {line!r}")
    return words


def parse_command(line: str) -> tuple[dict[str, str], list[str]]:
    """The leading assignments of a command line and the argv that follows
    them, as sh reads 'LC_ALL=C sort -u': ({'LC_ALL': 'C'}, ['sort', '-u']).
    An assignment is a word that starts with a name (a letter or _, then
    letters, digits or _) and an unquoted =, before any other word; its value
    may be quoted (A="x y"). The same errors as split_command, and UsageError
    for a line of assignments only (sh would run nothing)."""
    words, equals = _scan(line)
    if not words:
        raise UsageError("empty command" if not line.strip() else f"empty command {line!r}")
    env: dict[str, str] = {}
    for index, (word, at) in enumerate(zip(words, equals)):
        if at <= 0 or word[0] not in _NAME_START or not _NAME_CHARS.issuperset(word[1:at]):
            return env, words[index:]
        env[word[:at]] = word[at + 1:]
    raise UsageError(f"{line!r} only sets variables: there is no command to run")


def _scan(line: str) -> tuple[list[str], list[int]]:
    """The words, and for each one the index in it of its first = when every
    character before that = was unquoted and unescaped (else -1): what
    parse_command needs to tell an assignment. Raises as split_command."""
    words: list[str] = []
    equals: list[int] = []
    operators: list[tuple[str, int]] = []
    word: list[str] = []
    in_word = False  # "" and '' make an (empty) word too
    literal = True   # no quote nor backslash in this word before its first = (so far)
    at = -1
    i, n = 0, len(line)
    try:
        while i < n:
            c = line[i]
            if c in _BLANKS or c in _OPERATOR_CHARS:
                if in_word:
                    words.append("".join(word))
                    equals.append(at)
                    word, in_word, literal, at = [], False, True, -1
                if c in _BLANKS:
                    i += 1
                else:
                    token = next((op for op in _OPERATORS if line.startswith(op, i)), c)
                    operators.append((token, i))
                    i += len(token)
            elif c == "$" and line.startswith("(", i + 1):  # $( and $((: a substitution sh would run
                operators.append(("$(", i))
                i += 2
            elif c == "`":  # the older spelling of $(
                operators.append(("`", i))
                i += 1
            elif c == "\\":
                if i + 1 == n:
                    raise ValueError("no escaped character after the last backslash")
                if line[i + 1] != "\n":  # backslash-newline: a line continuation, removed
                    word.append(line[i + 1])
                    in_word, literal = True, literal and at >= 0
                i += 2
            elif c == "'":
                end = line.find("'", i + 1)
                if end < 0:
                    raise ValueError("no closing quotation")
                word.append(line[i + 1:end])
                in_word, literal, i = True, literal and at >= 0, end + 1
            elif c == '"':
                in_word, literal, i = True, literal and at >= 0, i + 1
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
                if c == "=" and literal and at < 0:
                    at = len(word)
                word.append(c)
                in_word, i = True, i + 1
    except ValueError as exc:
        if operators:  # the first problem of the line is the one to tell
            raise ShellOperatorError(line, operators) from None
        raise UsageError(f"cannot split command {line!r}: {exc}") from None
    if operators:
        raise ShellOperatorError(line, operators)
    if in_word:
        words.append("".join(word))
        equals.append(at)
    return words, equals
