"""A plain slotted record class, for results built often or imported at start-up."""

from __future__ import annotations

TYPE_CHECKING = False  # typing costs start-up; type checkers read the annotations
if TYPE_CHECKING:
    from typing import Any, ClassVar


class _Record:
    """A plain slotted record: positional or keyword construction, defaults,
    equality and repr. Not dataclasses: building a dataclass costs about a
    millisecond at import, and reap-watch's start-up is budgeted.

    Subclasses list their fields in ``__slots__`` and annotate each one
    (``pid: int``) for type checkers; the annotations cost nothing at run time."""

    __slots__: ClassVar[tuple[str, ...]] = ()
    _defaults: ClassVar[dict[str, Any]] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        values = {**self._defaults, **dict(zip(self.__slots__, args)), **kwargs}
        for name in self.__slots__:
            try:
                object.__setattr__(self, name, values[name])
            except KeyError:
                raise TypeError(f"{type(self).__name__}() missing argument {name!r}") from None

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in self.__slots__)

    __hash__ = None  # type: ignore[assignment]  # mutable: equal records may change

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{n}={getattr(self, n)!r}' for n in self.__slots__)})"
