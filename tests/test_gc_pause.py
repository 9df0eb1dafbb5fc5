"""The one garbage-collector pause: off inside, restored as it was, the only place that pauses."""

from __future__ import annotations

import gc
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

import rmapply
from rmapply.gc_pause import _FROZEN_FOR_GOOD, freeze_for_good, gc_paused


@pytest.fixture
def collector_enabled() -> Iterator[None]:
    """Leave the collector as the test found it, whatever the test does."""
    was = gc.isenabled()
    yield
    (gc.enable if was else gc.disable)()


def test_the_collector_is_off_inside_and_on_again_after(collector_enabled: None) -> None:
    gc.enable()
    with gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off_even_after_an_error(collector_enabled: None) -> None:
    gc.disable()
    with pytest.raises(ValueError), gc_paused(promote=True):
        raise ValueError("boom")
    assert not gc.isenabled()


def test_promote_leaves_nothing_frozen(collector_enabled: None) -> None:
    gc.enable()
    frozen = gc.get_freeze_count()
    with gc_paused(promote=True):
        kept = [{"n": n} for n in range(1000)]
    assert gc.get_freeze_count() == frozen
    assert gc.isenabled()
    assert len(kept) == 1000


def test_promote_after_freeze_for_good_keeps_it_without_counting_the_frozen_objects(
    collector_enabled: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    gc.enable()
    big = [{"n": n} for n in range(1000)]
    try:
        freeze_for_good()
        frozen = gc.get_freeze_count()

        def counted() -> int:
            raise AssertionError("counting walks every frozen object")

        monkeypatch.setattr(gc, "get_freeze_count", counted)
        with gc_paused(promote=True):
            kept = [{"n": n} for n in range(1000)]
        monkeypatch.undo()
        assert gc.get_freeze_count() == frozen  # the freeze stands, nothing added
    finally:
        gc.unfreeze()
        _FROZEN_FOR_GOOD.clear()
    assert len(big) == len(kept) == 1000


def test_promote_keeps_an_earlier_freeze(collector_enabled: None) -> None:
    gc.enable()
    big = [{"n": n} for n in range(1000)]
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with gc_paused(promote=True):
            kept = [{"n": n} for n in range(1000)]
        assert gc.get_freeze_count() == frozen  # the earlier freeze stands, nothing added
    finally:
        gc.unfreeze()
    assert len(big) == len(kept) == 1000


def test_no_other_module_pauses_the_collector() -> None:
    package = Path(rmapply.__file__).parent
    pausing = sorted(
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if re.search(r"gc\.(disable|enable)\(", path.read_text(encoding="utf-8"))
    )
    assert pausing == ["gc_pause.py"]
