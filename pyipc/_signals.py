"""The signal module, without its enums, for every module on a command's start-up path.

``from ._signals import signal`` gives the C module _signal under the name
signal: the same functions and constants as the signal module, with plain ints
where signal.py wraps them in enum members (signal.SIGTERM is 15,
getsignal() gives SIG_DFL as 0, pthread_sigmask() a set of ints).
signal.py builds its Signals, Handlers and Sigmasks enums at import, which
imports enum with functools, collections, operator and types: about 0.4x
`python -c pass` of start-up, more than a trivial run's own work. _signal is
loaded by the interpreter itself before any of our code, so this costs nothing.

Everything pyipc does with a signal works on ints alike (an enum member is an
int); names for messages come from pyipc.status.signal_name, which follows
the same rule as signal.Signals. Type checkers read the signal module.
"""

TYPE_CHECKING = False
if TYPE_CHECKING:
    import signal as signal
else:
    import _signal as signal

__all__ = ["signal"]
