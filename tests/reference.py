"""Where the official API documents live, for tests that check rmapply against them."""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent


def reference_dir() -> Path:
    """The shared/reference folder beside the checkout (CI lays shared/ next to the clone)."""
    env = os.environ.get("RMAPPLY_REFERENCE_DIR")
    candidates = [Path(env)] if env else []
    candidates += [REPO.parent / "shared" / "reference", REPO / "tests" / "data" / "reference"]
    for candidate in candidates:
        if (candidate / "contextcapture-v1.openapi.json").is_file():
            return candidate
    raise FileNotFoundError("contextcapture-v1.openapi.json not found; set RMAPPLY_REFERENCE_DIR")


@cache
def openapi() -> dict[str, Any]:
    """The official OpenAPI definition of the v1 API."""
    data: dict[str, Any] = json.loads(
        (reference_dir() / "contextcapture-v1.openapi.json").read_text(encoding="utf-8")
    )
    return data
