"""The base of a class written out as ``@dataclass`` (eq, not frozen) would make it, for classes
the plan path creates at import or makes many of: the decorator execs a function per method and
costs a dozen times as much to create. The subclass writes its own ``__init__`` (where the
speed is); repr and equality come from here, over ``_FIELDS`` in order."""

from __future__ import annotations

from typing import ClassVar


class PlainRecord:
    """Repr and equality over ``_FIELDS``; unhashable, as a dataclass with eq and not frozen."""

    __slots__ = ()
    _FIELDS: ClassVar[tuple[str, ...]] = ()
    _HIDDEN: ClassVar[frozenset[str]] = frozenset()  # fields the repr leaves out

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{name}={getattr(self, name)!r}" for name in self._FIELDS if name not in self._HIDDEN
        )
        return f"{type(self).__name__}({shown})"

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        fields = self._FIELDS
        return tuple(getattr(self, n) for n in fields) == tuple(getattr(other, n) for n in fields)

    __hash__ = None  # type: ignore[assignment]
