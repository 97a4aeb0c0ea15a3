"""``python -m pyipc completion SHELL``: print the completion scripts of all
the commands, for a user whose shell does not find the installed files.

The scripts are the static files tools/gendocs.py writes to completions/ and
the install puts under <prefix>/share. They are found next to the package in a
checkout, else through the installed distribution's RECORD, so that this works
for any install scheme (venv, --user, a system prefix, pipx's venvs).

One subcommand for all seven commands, as `pip completion --bash` and
`kubectl completion bash` do it, rather than a --completion option on each
command: a line in ~/.bashrc covers them all, and the commands' options, man
pages and argv parser stay about their jobs.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ..errors import EXIT_FAILURE, EXIT_OK, EXIT_USAGE

PROG = "python -m pyipc"
USAGE = f"usage: {PROG} completion bash|zsh|fish"
SHELLS = {
    # shell: (directory under <prefix>/share, file name pattern in completions/)
    "bash": ("share/bash-completion/completions", "*.bash"),
    "zsh": ("share/zsh/site-functions", "_*"),
    "fish": ("share/fish/vendor_completions.d", "*.fish"),
}
HELP = f"""{USAGE}

Print the completion scripts of every pyipc command for SHELL on stdout:

    eval "$(python3 -m pyipc completion bash)"      # in ~/.bashrc
    eval "$(python3 -m pyipc completion zsh)"       # in ~/.zshrc, after compinit
    python3 -m pyipc completion fish | source       # in ~/.config/fish/config.fish
"""


class NotInstalled(Exception):
    """The completion files are neither in a checkout nor in the installed files."""


def script_files(shell: str) -> list[Path]:
    """The completion files for SHELL, one per command, sorted by name."""
    share_dir, pattern = SHELLS[shell]
    checkout = Path(__file__).resolve().parent.parent.parent / "completions"
    found = sorted(checkout.glob(pattern)) if checkout.is_dir() else []
    if not found:
        from importlib import metadata

        try:
            dist = metadata.distribution("pyipc")
        except metadata.PackageNotFoundError:
            raise NotInstalled(shell) from None
        found = sorted(
            (Path(str(dist.locate_file(f))).resolve() for f in dist.files or []
             if f.as_posix().endswith(f"{share_dir}/{f.name}")),
            key=lambda p: p.name,
        )
        found = [p for p in found if p.is_file()]
    if not found:
        raise NotInstalled(shell)
    return found


def render(shell: str) -> str:
    """One script for SHELL that, sourced, sets up completion for every command."""
    parts = []
    for path in script_files(shell):
        text = path.read_text()
        if shell == "zsh":
            # An autoloaded #compdef file is a function body: define the
            # function and register it, as compinit would have done.
            function = path.name
            progs = text.split("\n", 1)[0].split()[1:]
            body = text.split("\n", 1)[1]
            text = f"{function}() {{\n{body}}}\ncompdef {function} {' '.join(progs)}\n"
        parts.append(text)
    return "".join(parts)


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] in ("-h", "--help"):
        print(HELP, end="")
        sys.exit(EXIT_OK)
    if len(args) != 2 or args[0] != "completion" or args[1] not in SHELLS:
        print(f"{PROG}: expected 'completion bash', 'completion zsh' or 'completion fish'\n{USAGE}", file=sys.stderr)
        sys.exit(EXIT_USAGE)
    try:
        text = render(args[1])
    except NotInstalled:
        print(f"{PROG}: no {args[1]} completion files found: reinstall pyipc (pip install .)", file=sys.stderr)
        sys.exit(EXIT_FAILURE)
    sys.stdout.write(text)
