"""The CLI's pydantic runs without third-party pydantic plugins: looking for them costs start-up.

pydantic looks for plugins (an observability hook) when it builds its first validator, through
``importlib.metadata``: importing that (with email, zipfile, csv) and scanning every installed
distribution's entry points is 10 to 20 ms of a no-op ``rmapply plan`` (bench/README.md,
"bench_cli_speed.py"). rmapply uses no plugin and validates the same without one.
"""

from __future__ import annotations

import os
import sys
import types
from collections.abc import Iterable
from typing import Any

# the private module whose get_plugins() pydantic's validators ask (pydantic/plugin/_loader.py)
LOADER = "pydantic.plugin._loader"


def _no_plugins() -> Iterable[Any]:
    return ()


def skip_pydantic_plugins() -> None:
    """Let pydantic find no plugin, unless it has looked already or ``PYDANTIC_DISABLE_PLUGINS``
    is set (whoever configures plugins gets pydantic's own rules)."""
    if LOADER in sys.modules or "PYDANTIC_DISABLE_PLUGINS" in os.environ:
        return
    loader = types.ModuleType(LOADER, "No pydantic plugins for rmapply's CLI.")
    setattr(loader, "get_plugins", _no_plugins)  # noqa: B010 - a module built at run time
    sys.modules[LOADER] = loader
