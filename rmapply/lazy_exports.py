"""Names a module exports on first use (PEP 562): the module lists where each name lives, and
that module is imported the first time the name is read, so a command imports only what it
uses (a plan never imports saved plans, the state lock or the actions that change something)."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, MutableMapping


def exported_on_first_use(
    module: str, sources: Mapping[str, str], namespace: MutableMapping[str, object]
) -> Callable[[str], object]:
    """The module ``__getattr__`` of ``module``: ``name`` is imported from ``sources[name]`` when
    first read and kept in ``namespace`` (the module's globals), so a later read costs nothing;
    a name not in ``sources`` is an AttributeError, as for any module."""

    def first_use(name: str) -> object:
        source = sources.get(name)
        if source is None:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(source), name)
        namespace[name] = value
        return value

    return first_use
