"""Golden files: compare a renderer's output with tests/output/golden (RMAPPLY_UPDATE_GOLDEN=1
rewrites them; review the diff before committing)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

GOLDEN = Path(__file__).parent / "golden"


@pytest.fixture
def golden() -> Callable[[str, str], None]:
    """``golden(name, text)`` asserts ``text`` equals golden/<name>."""

    def check(name: str, text: str) -> None:
        path = GOLDEN / name
        if os.environ.get("RMAPPLY_UPDATE_GOLDEN") == "1":
            path.write_text(text, encoding="utf-8")
        assert path.exists(), f"missing golden file {path}; run with RMAPPLY_UPDATE_GOLDEN=1"
        assert text == path.read_text(encoding="utf-8")

    return check
