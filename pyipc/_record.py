"""A plain slotted record class, for results built often or imported at start-up."""


class _Record:
    """A plain slotted record: positional or keyword construction, defaults,
    equality and repr. Not dataclasses: building a dataclass costs about a
    millisecond at import, and reap-watch's start-up is budgeted."""

    __slots__ = ()
    _defaults: dict = {}

    def __init__(self, *args, **kwargs):
        values = {**self._defaults, **dict(zip(self.__slots__, args)), **kwargs}
        for name in self.__slots__:
            try:
                object.__setattr__(self, name, values[name])
            except KeyError:
                raise TypeError(f"{type(self).__name__}() missing argument {name!r}") from None

    def __eq__(self, other):
        if type(other) is not type(self):
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in self.__slots__)

    __hash__ = None

    def __repr__(self):
        return f"{type(self).__name__}({', '.join(f'{n}={getattr(self, n)!r}' for n in self.__slots__)})"
