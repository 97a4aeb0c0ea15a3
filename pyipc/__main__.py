"""``python -m pyipc completion bash|zsh|fish``: print the completion scripts of
every pyipc command (see pyipc/commands/completion.py)."""

from .commands.completion import main

main()
