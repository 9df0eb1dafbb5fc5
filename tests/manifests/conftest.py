"""Fixtures for the manifests room: write a directory of files, load it, read its problems."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from rmapply.errors import ManifestError
from rmapply.manifests import LoadResult, load_manifests

ITWIN = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
CONFIG = f'[project]\niTwinId = "{ITWIN}"\n'
WORKSPACE = '[workspaces.main]\nname = "Main"\n'

JOB_TOML = """\
[jobs.site-a]
type = "Full"
name = "Site A"
workspace = "main"
inputs = [{ id = "58e0c0ca-f730-4e5b-808d-1c8cacacb4d4", description = "Photos" }]

[jobs.site-a.costEstimationParameters]
gigaPixels = 2.5
megaPoints = 1.5
meshQuality = "Extra"

[jobs.site-a.settings]
quality = "Extra"
processingEngines = 5
outputs = ["OBJ", "3MX"]
"""

JOB_YAML = """\
jobs:
  site-a:
    type: Full
    name: Site A
    workspace: main
    inputs:
      - id: 58e0c0ca-f730-4e5b-808d-1c8cacacb4d4
        description: Photos
    costEstimationParameters:
      gigaPixels: 2.5
      megaPoints: 1.5
      meshQuality: Extra
    settings:
      quality: Extra
      processingEngines: 5
      outputs: [OBJ, 3MX]
"""

Files = Mapping[str, str | bytes | None]


def write_tree(root: Path, files: Files) -> Path:
    """Write ``files`` (name -> text or bytes; None leaves a default file out) below ``root``."""
    defaults: dict[str, str | bytes | None] = {"rmapply.toml": CONFIG, "workspaces.toml": WORKSPACE}
    for name, content in {**defaults, **files}.items():
        if content is None:
            continue
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


@pytest.fixture
def make_dir(tmp_path: Path) -> Callable[[Files], Path]:
    """A manifests directory with rmapply.toml and workspaces.main unless overridden."""
    counter = iter(range(1_000_000))

    def make(files: Files) -> Path:
        return write_tree(tmp_path / f"m{next(counter)}", files)

    return make


def load(directory: Path, **kwargs: Any) -> LoadResult:
    """load_manifests with an empty environment and no cache unless asked."""
    kwargs.setdefault("environ", {})
    kwargs.setdefault("use_cache", False)
    return load_manifests(directory, **kwargs)


def problems(directory: Path, **kwargs: Any) -> list[str]:
    """The rendered problems of a load that must fail."""
    with pytest.raises(ManifestError) as caught:
        load(directory, **kwargs)
    return [problem.render() for problem in caught.value.problems]
