"""Library tests of pyipc.framing: framing, whole-buffer splitting, batching."""

import os
import random

import pytest

from pyipc.errors import UsageError
from pyipc.framing import (PIPE_BUF, FramingError, Problem, batches, check_framing, complete_end, finish, frame, runs,
                           split)

pytestmark = pytest.mark.timeout(20)


@pytest.mark.parametrize("framing", ["line", "nul", "length"])
def test_frame_split_round_trip(framing):
    messages = [b"", b"a", b"hello world", b"x" * 5000]
    if framing == "length":
        messages.append(bytes(range(256)))
    buf = b"".join(frame(m, framing) for m in messages)
    assert complete_end(buf, framing) == len(buf)
    assert split(buf, framing) == messages


def test_frame_refuses_its_own_terminator():
    for framing, message in (("line", b"a\nb"), ("nul", b"a\0b")):
        with pytest.raises(FramingError) as caught:
            frame(message, framing)
        assert (caught.value.problem, caught.value.framing) == (Problem.TERMINATOR_INSIDE, framing)
    assert frame(b"a\nb\0", "length") == b"\0\0\0\x04a\nb\0"
    assert frame(b"a\0b", "line") == b"a\0b\n"


@pytest.mark.parametrize("framing", ["line", "nul", "length"])
def test_complete_end_stops_before_a_partial_message(framing):
    whole = frame(b"first", framing) + frame(b"second", framing)
    partial = frame(b"third, cut", framing)[:-3]
    assert complete_end(whole + partial, framing) == len(whole)
    assert complete_end(partial, framing) == 0


def test_finish_completes_a_last_line_but_refuses_a_cut_length_frame():
    assert finish(b"", "line") == b""
    assert finish(b"tail", "line") == b"tail\n"
    assert finish(b"tail", "nul") == b"tail\0"
    with pytest.raises(FramingError) as caught:
        finish(b"\0\0\0\x09abc", "length")
    assert (caught.value.problem, caught.value.size) == (Problem.CUT_FRAME, 7)


@pytest.mark.parametrize("framing", ["line", "nul", "length"])
def test_batches_end_on_boundaries_and_fit_pipe_buf(framing):
    rng = random.Random(7)
    messages = []
    for i in range(400):
        size = rng.choice([0, 1, 10, 100, 1000, PIPE_BUF - 5, PIPE_BUF, PIPE_BUF + 1, 20000])
        messages.append(bytes([65 + i % 26]) * size)
    buf = b"".join(frame(m, framing) for m in messages)
    seen, pos = [], 0
    for start, stop, count in batches(buf, len(buf), framing):
        assert start == pos and stop > start and count >= 1
        chunk = buf[start:stop]
        got = split(chunk, framing)
        assert len(got) == count
        if stop - start > PIPE_BUF:
            assert count == 1, "only a single large message may exceed PIPE_BUF"
        seen += got
        pos = stop
    assert pos == len(buf)
    assert seen == messages


def test_check_framing():
    assert check_framing("nul") == "nul"
    with pytest.raises(UsageError):
        check_framing("csv")


def test_c_helper_is_built_where_a_compiler_is():
    # pyproject.toml builds pyipc._speedups as an optional extension: an
    # install on a machine with a C compiler must have it, or the fast path
    # silently falls back to bytes.count.
    import shutil
    import sysconfig

    if not (shutil.which("cc") or shutil.which("gcc")) or not os.path.exists(
            os.path.join(sysconfig.get_paths()["include"], "Python.h")):
        pytest.skip("no C compiler or no Python headers here: the pure-Python fallback is the product")
    import pyipc._speedups  # noqa: F401


@pytest.mark.parametrize("framing", ["line", "nul"])
def test_count_terminators_agrees_with_bytes_count(framing, monkeypatch):
    import pyipc.framing as framing_module

    term = {"line": b"\n", "nul": b"\0"}[framing]
    counters = [framing_module._python_count]
    try:
        from pyipc._speedups import count
        counters.append(count)
    except ImportError:
        pass
    rng = random.Random(11)
    cases = [b"", term, term * 9000, b"x" * 9000]
    for _ in range(300):
        size = rng.choice([1, 31, 32, 33, 255, 8159, 8160, 8161, 20000, 70000])
        cases.append(bytes(rng.choice((term[0], 0x0A, 0x00, 0xFF, 0x61)) for _ in range(size)))
    for data in cases:
        for buf in (data, bytearray(data)):
            start = rng.randrange(len(data) + 1)
            end = rng.randrange(start, len(data) + 1)
            for counter in counters:
                monkeypatch.setattr(framing_module, "_count", counter)
                assert framing_module.count_terminators(buf, term, start, end) == data.count(term, start, end)
                assert framing_module.count_terminators(buf, term) == data.count(term)


def test_c_helper_refuses_bad_ranges():
    count = pytest.importorskip("pyipc._speedups").count
    for args in ((b"abc", 10, -1, 2), (b"abc", 10, 2, 1), (b"abc", 10, 0, 4), (b"abc", 256, 0, 3), (b"abc", -1, 0, 3)):
        with pytest.raises(ValueError):
            count(*args)
    with pytest.raises(TypeError):
        count("text", 10, 0, 1)


def _reader(data: bytes, rng: random.Random):
    """read_into for runs(): hands data out in random-sized pieces."""
    pos = 0

    def read_into(room) -> int:
        nonlocal pos
        take = min(len(room), len(data) - pos, rng.choice([1, 7, 100, 4096, 70000]))
        room[:take] = data[pos:pos + take]
        pos += take
        return take

    return read_into


@pytest.mark.parametrize("framing", ["line", "nul", "length"])
def test_runs_yield_whole_messages_whatever_the_reads(framing):
    rng = random.Random(5)
    messages = [bytes([97 + i % 26]) * rng.choice([0, 1, 5, 300, 5000, 200_000]) for i in range(300)]
    data = b"".join(frame(m, framing) for m in messages)
    got = []
    for buf, end in runs(_reader(data, rng), framing, readsize=1024):
        assert complete_end(buf, framing, 0, end) == end  # whole messages only
        got += split(bytes(buf[:end]), framing)
    assert got == messages


def test_runs_end_a_last_line_and_refuse_a_cut_length_frame():
    rng = random.Random(6)
    out = [bytes(buf[:end]) for buf, end in runs(_reader(b"a\nb\ntail", rng), "line", readsize=16)]
    assert b"".join(out) == b"a\nb\ntail\n"
    with pytest.raises(FramingError) as caught:
        list(runs(_reader(frame(b"whole", "length") + b"\0\0\0\x09cut", rng), "length", readsize=16))
    assert caught.value.problem is Problem.CUT_FRAME


@pytest.mark.parametrize("framing", ["line", "length"])
def test_runs_stops_a_message_longer_than_max_size(framing):
    # a sender that never ends its line must not make us hold more than the bound
    rng = random.Random(8)
    data = frame(b"ok", framing) + (frame(b"x" * 5000, framing) if framing == "length" else b"x" * 5000)
    seen = []
    with pytest.raises(FramingError) as caught:
        for buf, end in runs(_reader(data, rng), framing, readsize=64, max_size=1000):
            seen.append(bytes(buf[:end]))
    assert caught.value.problem is Problem.TOO_LARGE and caught.value.limit == 1000
    assert seen == [frame(b"ok", framing)]
    if framing == "length":
        assert (caught.value.size, caught.value.at_least) == (5000, False)
