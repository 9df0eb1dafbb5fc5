"""How a place inside an API body is written: ``settings.outputs[1]``, as in ``target``."""

from __future__ import annotations

from collections.abc import Iterable


def field_path(parts: Iterable[str | int]) -> str:
    """``("settings", "outputs", 1)`` -> ``settings.outputs[1]``."""
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text
