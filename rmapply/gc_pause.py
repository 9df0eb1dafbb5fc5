"""The one pause of the cyclic garbage collector, for code that builds many acyclic objects."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused(*, promote: bool = False) -> Iterator[None]:
    """Pause the cyclic garbage collector for the block; restore it as it was.

    Loading a state, the manifests or planning 10,000 jobs allocates hundreds of thousands of
    small objects that hold no cycles; the collections they trigger walk the whole heap again
    and again (2-4x the time, bench/bench_plan.py, bench_state.py, bench_manifests.py).

    ``promote``: on the way out, freeze + unfreeze moves everything allocated meanwhile
    straight into the oldest generation (a list splice, no scan); otherwise the first young
    collection after the block would walk all of it at once. An earlier freeze (a big state,
    rmapply/state/statefile.py) is kept instead: unfreezing would hand its million objects back
    to the collector (a 14 ms collection at exit of a ``plan --local``, more in between).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        # (the flag first: counting the frozen objects walks them, 8 ms for a state of 1,000)
        if promote and not _FROZEN_FOR_GOOD and not gc.get_freeze_count():
            gc.freeze()
            gc.unfreeze()
        if enabled:
            gc.enable()


# set (to one True) once freeze_for_good() has frozen: a later promote then keeps that freeze
_FROZEN_FOR_GOOD: list[bool] = []


def freeze_for_good() -> None:
    """``gc.freeze()`` everything allocated so far: objects that live as long as the command
    and hold no cycles, never walked by the collector again (a later promote keeps them)."""
    gc.freeze()
    _FROZEN_FOR_GOOD[:] = [True]
