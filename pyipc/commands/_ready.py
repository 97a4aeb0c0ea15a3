"""--ready-fd N, the same in every command that can say it is ready
(mkfifo-cat, fifo-recv, alarm-wait): the option's help, and N checked before
anything else happens. The mechanism itself is pyipc.ready."""

from __future__ import annotations

READY_FD_HELP = "Once ready, write a newline to file descriptor N (3 or more, open for writing) and close it, so a script can wait for that instead of sleeping (s6's notification-fd convention)."


def ready_fd_or_usage(text: str | None) -> int | None:
    """--ready-fd N checked before anything else happens: a usage error (2)
    names what is wrong with N."""
    if text is None:
        return None
    from ..errors import UsageError
    from ..integers import parse_fd
    from ..ready import ReadyFdError, ReadyFdProblem, check_ready_fd
    from ._cli import parse_or_usage

    fd = parse_or_usage(parse_fd, text, "--ready-fd")

    try:
        return check_ready_fd(fd)
    except ReadyFdError as exc:
        reason = {
            ReadyFdProblem.STD_STREAM: "must be 3 or more (0, 1 and 2 are the standard streams)",
            ReadyFdProblem.NOT_OPEN: "is not an open file descriptor",
            ReadyFdProblem.NOT_WRITABLE: "is not open for writing",
        }[exc.problem]
        raise UsageError(f"--ready-fd: {fd} {reason}") from None
