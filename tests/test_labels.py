"""pyipc.labels: each stage's stderr lines, labelled, whole, in order."""

from __future__ import annotations

import os

from pyipc.labels import LINE_MAX, StderrLabels, label_name


class Collect:
    """An ErrStream stand-in that keeps every write."""

    def __init__(self):
        self.writes: list[bytes] = []
        self.on_broken = []
        self.backed_up = False
        self.broken = False

    def write(self, data: bytes, start: int = 0, stop: int | None = None) -> None:
        self.writes.append(data[start:stop])

    def attach(self, sup) -> None:
        pass


def labelled(chunks: list[bytes], name: str = "grep") -> tuple[list[bytes], StderrLabels]:
    stream = Collect()
    labels = StderrLabels(stream, ["cat", name])
    try:
        source = list(labels._sources.values())[1]
        for chunk in chunks:
            labels._take(source, chunk)
        return stream.writes, labels
    finally:
        labels.close()


def test_lines_are_labelled_and_held_until_their_newline():
    writes, _ = labelled([b"one\ntw", b"o\n", b"three"])
    assert writes == [b"[2 grep] one\n", b"[2 grep] two\n"]  # "three" waits for its newline


def test_the_last_line_without_a_newline_gets_one_at_eof():
    stream = Collect()
    labels = StderrLabels(stream, ["sh"])
    read_end = next(iter(labels._sources))
    os.write(labels.stage_fds[0], b"a\nlast")
    os.close(labels.stage_fds[0])
    labels._sources[read_end].write_end = -1
    labels.finish()
    assert b"".join(stream.writes) == b"[1 sh] a\n[1 sh] last\n"


def test_a_long_line_goes_out_in_labelled_pieces():
    writes, _ = labelled([b"a" * (2 * LINE_MAX + 5) + b"\nnext\n"])
    out = b"".join(writes).split(b"\n")
    assert out == [b"[2 grep] " + b"a" * LINE_MAX, b"[2 grep] " + b"a" * LINE_MAX, b"[2 grep] aaaaa",
                   b"[2 grep] next", b""]


def test_a_long_line_without_newline_is_cut_as_it_comes_bounded_in_memory():
    writes, _ = labelled([b"b" * 10000] * 5)  # 50000 bytes, no newline yet: 848 are held
    assert b"".join(writes) == (b"[2 grep] " + b"b" * LINE_MAX + b"\n") * 3


def test_pieces_are_cut_between_utf8_characters():
    text = ("x" + "é" * LINE_MAX).encode()  # 2-byte characters starting at an odd offset
    writes, _ = labelled([text + b"\n"])
    pieces = b"".join(writes).split(b"\n")[:-1]
    assert len(pieces) == 3
    for piece in pieces:
        assert piece.startswith(b"[2 grep] ")
        piece[len(b"[2 grep] "):].decode("utf-8")  # each piece is valid UTF-8
        assert len(piece) - len(b"[2 grep] ") <= LINE_MAX
    assert b"".join(p[len(b"[2 grep] "):] for p in pieces) == text


def test_label_names():
    assert label_name(["/usr/bin/grep", "-c", "x"]) == "grep"
    assert label_name(["/bin/sh", "-c", "LC_ALL=C sort -u | uniq"], shell=True) == "sort"
    assert label_name(["/bin/sh", "-c", "'/opt/tool' x"], shell=True) == "tool"
    assert label_name(["a\nb\x1b"]) == "a?b?"


def test_long_lines_among_short_ones_and_at_the_limit():
    exact, over = b"e" * LINE_MAX, b"o" * (LINE_MAX + 1)
    chunk = b"a\n" * 3000 + exact + b"\n" + b"b\n" * 10 + over + b"\n" + b"c\n"
    writes, _ = labelled([chunk])
    lines = b"".join(writes).split(b"\n")[:-1]
    texts = [line[len(b"[2 grep] "):] for line in lines]
    assert all(line.startswith(b"[2 grep] ") for line in lines)
    assert texts == [b"a"] * 3000 + [exact] + [b"b"] * 10 + [b"o" * LINE_MAX, b"o", b"c"]


def test_assignments_before_the_program_are_skipped():
    assert label_name(["LC_ALL=C", "/usr/bin/sort", "-u"]) == "sort"
    assert label_name(["a=b"]) == "a=b"  # nothing else: the word itself
    assert label_name(["/bin/sh", "-c", "X=1 Y=2"], shell=True) == "X=1"
