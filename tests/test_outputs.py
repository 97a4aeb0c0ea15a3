"""pyipc.outputs: output files are opened all together or not at all, and
truncated only once every one of them is open."""

import os
import stat
import threading

import pytest

from pyipc.outputs import Output, SameAsInput, open_outputs


def close_all(fds):
    for fd in fds:
        os.close(fd)


def test_opens_truncates_and_appends(tmp_path):
    (tmp_path / "out").write_text("old")
    (tmp_path / "log").write_text("old\n")
    fds = open_outputs([Output(str(tmp_path / "out")), Output(str(tmp_path / "log"), append=True),
                        Output(str(tmp_path / "new"))])
    try:
        for fd in fds:
            os.write(fd, b"x")
            assert os.get_inheritable(fd) is False and os.get_blocking(fd)
    finally:
        close_all(fds)
    assert [(tmp_path / n).read_text() for n in ("out", "log", "new")] == ["x", "old\nx", "x"]


def test_a_failing_output_leaves_the_others_untouched(tmp_path):
    (tmp_path / "out").write_text("keep")
    before = os.stat(tmp_path / "out")
    with pytest.raises(FileNotFoundError) as caught:
        open_outputs([Output(str(tmp_path / "out")), Output(str(tmp_path / "created")),
                      Output(str(tmp_path / "missing-dir" / "r"))])
    assert caught.value.filename == str(tmp_path / "missing-dir" / "r")
    assert (tmp_path / "out").read_text() == "keep" and os.stat(tmp_path / "out").st_mtime_ns == before.st_mtime_ns
    assert sorted(os.listdir(tmp_path)) == ["out"]  # 'created' was made, then removed again


def test_a_directory_is_refused(tmp_path):
    with pytest.raises(IsADirectoryError):
        open_outputs([Output(str(tmp_path))])


def test_the_input_is_never_truncated(tmp_path):
    (tmp_path / "data").write_text("precious")
    (tmp_path / "other").write_text("keep")
    source = os.open(tmp_path / "data", os.O_RDONLY)
    try:
        with pytest.raises(SameAsInput) as caught:
            open_outputs([Output(str(tmp_path / "other")), Output(str(tmp_path / "data"), not_same_as=(source,))])
    finally:
        os.close(source)
    assert caught.value.path == str(tmp_path / "data")
    assert (tmp_path / "data").read_text() == "precious" and (tmp_path / "other").read_text() == "keep"


@pytest.mark.timeout(20)
def test_a_fifo_without_reader_is_opened_last(tmp_path):
    """A FIFO output waits for its reader (as a shell's > does), but only
    after every other output has opened: a bad one fails at once."""
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(FileNotFoundError):
        open_outputs([Output(str(tmp_path / "fifo")), Output(str(tmp_path / "no" / "r"))])
    got = []
    reader = threading.Thread(target=lambda: got.append(open(tmp_path / "fifo", "rb").read()))
    reader.start()
    fds = open_outputs([Output(str(tmp_path / "fifo")), Output(str(tmp_path / "out"))])
    assert stat.S_ISFIFO(os.fstat(fds[0]).st_mode) and os.get_blocking(fds[0])
    os.write(fds[0], b"hi")
    close_all(fds)
    reader.join(10)
    assert got == [b"hi"]
