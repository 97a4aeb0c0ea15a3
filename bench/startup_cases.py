"""Each command doing trivial but real work, for the start-up bench and for
tests/test_startup.py (which checks what those runs import, never how long
they take).

A case is argv plus what must happen around one run: a FIFO with a reader for
fifo-send (which reads the message: fifo-send waits for that), a waiting message for fifo-recv, a writer for mkfifo-cat.
"""

from __future__ import annotations

import os
import subprocess
import threading
from contextlib import contextmanager
from pathlib import Path


class Case:
    def __init__(self, name: str, argv: list[str], before=None, during=None):
        self.name, self.argv, self.before, self.during = name, argv, before, during

    def run_once(self, *, env=None, timeout: float = 30) -> subprocess.CompletedProcess:
        """One run; stdout discarded, stderr captured (the import list, when asked)."""
        if self.before:
            self.before()
        proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, env=env)
        helper = None
        if self.during:
            helper = threading.Thread(target=self.during, daemon=True)
            helper.start()
        try:
            _, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise
        if helper:
            helper.join(timeout)
        return subprocess.CompletedProcess(self.argv, proc.returncode, b"", err)


@contextmanager
def trivial_cases(scripts: Path, workdir: Path):
    """Yield the list of Cases; FIFOs live in workdir and are held open here."""
    def s(name):
        return str(scripts / name)

    send_fifo, recv_fifo, cat_fifo = workdir / "send.fifo", workdir / "recv.fifo", workdir / "cat.fifo"
    for fifo in (send_fifo, recv_fifo, cat_fifo):
        os.mkfifo(fifo, 0o600)
    # O_RDWR: a reader (and writer) that is always there, so fifo-send never waits
    # and fifo-recv finds its message; we drain/refill between runs.
    send_hold = os.open(send_fifo, os.O_RDWR | os.O_NONBLOCK)
    recv_hold = os.open(recv_fifo, os.O_RDWR | os.O_NONBLOCK)

    def drain():
        try:
            while os.read(send_hold, 65536):
                pass
        except BlockingIOError:
            pass

    def read_message():
        # fifo-send exits once its message has been read out of the FIFO
        import select

        got = b""
        while not got.endswith(b"\n"):
            select.select([send_hold], [], [], 30)
            try:
                got += os.read(send_hold, 65536)
            except BlockingIOError:
                pass

    def put_message():
        os.write(recv_hold, b"hello\n")

    def write_and_close():
        with open(cat_fifo, "wb") as writer:  # opens once mkfifo-cat is reading
            writer.write(b"hello\n")

    try:
        yield [
            Case("pipe-run true", [s("pipe-run"), "true"]),
            Case("sigsend 0 PID", [s("sigsend"), "0", str(os.getpid())]),
            Case("alarm-wait 0", [s("alarm-wait"), "0"]),
            Case("reap-watch true", [s("reap-watch"), "true"]),
            Case("fifo-send PATH hello", [s("fifo-send"), str(send_fifo), "hello"], before=drain,
                 during=read_message),
            Case("fifo-recv --count 1 PATH", [s("fifo-recv"), "--count", "1", str(recv_fifo)], before=put_message),
            Case("mkfifo-cat --once PATH", [s("mkfifo-cat"), "--once", str(cat_fifo)], during=write_and_close),
        ]
    finally:
        os.close(send_hold)
        os.close(recv_hold)
