"""The library's enum classes, made when first used.

Each belongs to a public module and is used there under its documented name
(pyipc.integers.Problem, pyipc.signames.SignalProblem, ...): that module
hands it out on first access (a module __getattr__), and its own code imports
it from here only where an error is raised. Defining an enum imports enum,
with functools, collections, operator and types: about 0.4x `python -c pass`
of start-up, while a command's trivial run raises none of these errors.
Each class says where it belongs (__module__, __qualname__), so that repr,
pickle and help() show it as before.
"""

import enum


class SignalProblem(enum.Enum):
    __module__ = "pyipc.signames"

    MALFORMED = "malformed"            # neither an ASCII number nor an ASCII name
    UNKNOWN_NAME = "unknown name"
    REALTIME_RANGE = "real-time offset out of range"
    NOT_A_STATUS = "neither a signal number nor a status"  # lookup() only


class NumberProblem(enum.Enum):
    __module__ = "pyipc.integers"
    __qualname__ = "Problem"

    NOT_A_NUMBER = "not a number"
    OUT_OF_RANGE = "out of range"


class DurationProblem(enum.Enum):
    __module__ = "pyipc.durations"

    NOT_A_DURATION = "not a duration"
    NEGATIVE = "negative"


class FramingProblem(enum.Enum):
    __module__ = "pyipc.framing"
    __qualname__ = "Problem"

    TERMINATOR_INSIDE = "terminator-inside"  # a message holds its own terminator (line, nul)
    TOO_LONG_FOR_HEADER = "too-long-for-header"  # longer than a 4-byte length can say
    CUT_FRAME = "cut-frame"                  # the stream ends inside a length frame
    TOO_LARGE = "too-large"                  # longer than the --max-size bound


class ReadyFdProblem(enum.Enum):
    __module__ = "pyipc.ready"

    STD_STREAM = "std-stream"  # 0, 1 or 2: a newline there would be taken for data
    NOT_OPEN = "not-open"
    NOT_WRITABLE = "not-writable"


class Waited(enum.Enum):
    """What a --timeout ran out waiting for."""

    __module__ = "pyipc.fifo.errors"

    PATH = "path"            # the FIFO to appear (fifo-send --timeout)
    READER = "reader"        # a reader to open the FIFO
    LOCK = "lock"            # another sender's lock
    ROOM = "room"            # room in the pipe for the next message
    READ_OUT = "read-out"    # readers to take out what was written
    WRITER = "writer"        # the first writer
    MESSAGE = "message"      # the next message
    DATA = "data"            # any bytes (mkfifo-cat)


NumberProblem.__name__ = FramingProblem.__name__ = "Problem"
