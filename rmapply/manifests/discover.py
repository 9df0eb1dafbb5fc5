"""Discovery: which files of a manifests directory are manifests, in a stable order."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from rmapply.config import CONFIG_FILE
from rmapply.errors import ConfigError, ManifestError, ManifestProblem
from rmapply.manifests.limits import MAX_FILES

FORMATS = {".toml": "toml", ".yaml": "yaml", ".yml": "yaml"}
TEMPLATE_SUFFIX = ".j2"
# Variable files live here and are never read as manifests (see docs/manifests.md).
VARS_DIR = "vars"


@dataclass(frozen=True, order=True)
class ManifestFile:
    """One manifest: its name relative to the directory (posix), format and template flag."""

    name: str
    path: Path
    format: str
    templated: bool


def manifest_format(name: str) -> tuple[str, bool] | None:
    """``(format, templated)`` for a manifest file name, or None for any other file."""
    templated = name.endswith(TEMPLATE_SUFFIX)
    base = name.removesuffix(TEMPLATE_SUFFIX) if templated else name
    suffix = os.path.splitext(base)[1].lower()
    return (FORMATS[suffix], templated) if suffix in FORMATS else None


def is_hidden(name: str) -> bool:
    """Names starting with ``_`` (partials) or ``.`` (hidden) are never manifests."""
    return name.startswith(("_", "."))


def discover(directory: Path) -> list[ManifestFile]:
    """Every manifest below ``directory``, sorted; partials, vars/ and rmapply.toml skipped."""
    if not directory.is_dir():
        raise ConfigError(
            f"manifests directory {str(directory)!r} does not exist or is not a directory",
            hint="pass the directory with -C/--dir",
        )
    root = directory.resolve()
    found: list[ManifestFile] = []
    problems: list[ManifestProblem] = []
    pending = [""]
    while pending:
        relative = pending.pop()
        try:
            entries = sorted(os.scandir(root / relative), key=lambda e: e.name)
        except OSError as exc:
            problems.append(
                ManifestProblem(relative or ".", message=f"cannot list: {exc.strerror}")
            )
            continue
        for entry in entries:
            name = f"{relative}/{entry.name}" if relative else entry.name
            if is_hidden(entry.name) or (not relative and entry.name in (CONFIG_FILE, VARS_DIR)):
                continue
            if entry.is_dir(follow_symlinks=False):
                pending.append(name)
                continue
            kind = manifest_format(entry.name)
            if kind is None or not entry.is_file():
                continue
            path = root / name
            if entry.is_symlink() and not path.resolve().is_relative_to(root):
                problems.append(
                    ManifestProblem(name, message="is a link that points outside the directory")
                )
                continue
            found.append(ManifestFile(name, path, kind[0], kind[1]))
            if len(found) > MAX_FILES:
                raise ManifestError(
                    [ManifestProblem(".", message=f"more than {MAX_FILES} manifest files")]
                )
    if problems:
        raise ManifestError(problems)
    return sorted(found)
