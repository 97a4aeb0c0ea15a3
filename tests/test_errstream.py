"""pyipc.errstream: whole lines, never blocking, a status line kept below them."""

from __future__ import annotations

import os
import select
import socket

import pytest

from pyipc.errstream import ErrStream
from pyipc.spawn import Tracer


def messages(sock: socket.socket) -> list[bytes]:
    """Every datagram waiting on a SOCK_SEQPACKET end: one per write(2)."""
    sock.setblocking(False)
    found = []
    while True:
        try:
            data = sock.recv(1 << 20)
        except BlockingIOError:
            return found
        if not data:
            return found
        found.append(data)


@pytest.fixture
def seqpacket():
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
    yield ours, theirs
    ours.close()
    theirs.close()


def test_lines_go_out_whole_in_writes_of_at_most_pipe_buf_on_a_pipe_like_fd(seqpacket):
    ours, theirs = seqpacket
    stream = ErrStream(ours.fileno())
    lines = b"".join(b"%d %s\n" % (i, b"x" * (i % 300)) for i in range(2000))
    stream.write(lines)
    stream.write(b"y" * 9000 + b"\n")  # longer than PIPE_BUF: a write of its own
    stream.close()
    got = messages(theirs)
    assert b"".join(got) == lines + b"y" * 9000 + b"\n"
    assert all(m.endswith(b"\n") for m in got)
    assert all(len(m) <= select.PIPE_BUF for m in got[:-1]) and len(got[-1]) == 9001


def test_a_pipe_nobody_reads_never_blocks_and_is_written_out_when_read():
    read_end, write_end = os.pipe()
    try:
        stream = ErrStream(write_end)
        line = b"z" * 99 + b"\n"
        for _ in range(5000):  # 500 KB: far more than the pipe holds
            stream.write(line)
        assert stream.backed_up
        got = bytearray()
        while stream._buf:  # what the supervision loop does when the fd is writable
            got += os.read(read_end, 1 << 16)
            stream._writable()
        stream.close()
        os.close(write_end)
        write_end = -1
        while chunk := os.read(read_end, 1 << 16):
            got += chunk
        assert bytes(got) == line * 5000
    finally:
        os.close(read_end)
        if write_end >= 0:
            os.close(write_end)


def test_epipe_makes_it_broken_and_tells_the_writers():
    read_end, write_end = os.pipe()
    stream = ErrStream(write_end)
    told = []
    stream.on_broken.append(lambda: told.append(True))
    os.close(read_end)
    stream.write(b"lost\n")
    assert stream.broken and told == [True]
    stream.write(b"dropped too\n")  # no error, nothing raised
    stream.close()
    os.close(write_end)


def test_epipe_while_writing_out_what_waited():
    read_end, write_end = os.pipe()
    stream = ErrStream(write_end)
    for _ in range(5000):
        stream.write(b"w" * 99 + b"\n")
    assert stream.backed_up
    os.close(read_end)
    assert stream._writable() is False  # nothing waits any more: the loop stops watching
    assert stream.broken and not stream.backed_up
    stream.close()
    os.close(write_end)


def test_a_closed_fd_drops_output_without_raising():
    read_end, write_end = os.pipe()
    os.close(read_end)
    os.close(write_end)
    stream = ErrStream(write_end)
    assert stream.dead
    stream.write(b"nothing\n")
    stream.status("nothing")
    stream.close()


def test_the_status_line_is_redrawn_below_lines_and_erased(seqpacket):
    ours, theirs = seqpacket
    stream = ErrStream(ours.fileno())
    stream.status("50% done")
    stream.write(b"a line\n")
    stream.status("60%")
    stream.status(None)
    stream.close()
    assert messages(theirs) == [b"\r50% done", b"\r        \ra line\n50% done", b"\r60%     ", b"\r   \r"]


def test_trace_lines_of_this_process_go_through_the_stream(seqpacket):
    ours, theirs = seqpacket
    stream = ErrStream(ours.fileno())
    stream.status("progress")
    stream.tracer(Tracer(ours.fileno(), "x: "))("fork() = 1")
    stream.close()
    got = messages(theirs)
    assert got[1] == b"\r        \rx: [pid %d] fork() = 1\nprogress" % os.getpid()


def test_a_slice_of_a_buffer_is_written_without_the_rest(seqpacket):
    ours, theirs = seqpacket
    stream = ErrStream(ours.fileno())
    stream.write(b"xxA\nB\nyy", 2, 6)
    stream.status("s")
    stream.write(b"--C\n--", 2, 4)
    stream.close()
    assert messages(theirs) == [b"A\nB\n", b"\rs", b"\r \rC\ns"]
