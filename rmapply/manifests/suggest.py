"""Did-you-mean: the closest known spelling for a mistyped field or enum value."""

from __future__ import annotations

import re
from collections.abc import Iterable


def _fold(text: str) -> str:
    """Case, spaces and punctuation folded away: 'Cesium3DTiles' ~ 'Cesium 3D Tiles'."""
    return re.sub(r"[^0-9a-z]", "", text.lower())


def closest(word: str, choices: Iterable[str]) -> str | None:
    """The choice ``word`` most likely meant, or None when nothing is close."""
    import difflib  # here, not at the top: start-up never needs it

    options = list(choices)
    folded = _fold(word)
    for option in options:
        if folded and _fold(option) == folded:
            return option
    by_fold = {_fold(option): option for option in options}
    match = difflib.get_close_matches(folded, list(by_fold), n=1, cutoff=0.6)
    if match:
        return by_fold[match[0]]
    match = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return match[0] if match else None


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` or an empty string."""
    suggestion = closest(word, choices)
    return f"; did you mean {suggestion!r}?" if suggestion else ""
