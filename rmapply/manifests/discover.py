"""Discovery: which files of a manifests directory are manifests, in a stable order."""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

from rmapply.config import CONFIG_FILE
from rmapply.errors import ConfigError, ManifestError, ManifestProblem
from rmapply.manifests.limits import MAX_ENTRIES, MAX_FILES

FORMATS = {".toml": "toml", ".yaml": "yaml", ".yml": "yaml"}
TEMPLATE_SUFFIX = ".j2"
# Variable files live here and are never read as manifests (see docs/manifests.md).
VARS_DIR = "vars"


# a named tuple: built at import for a third of a dataclass's cost (sorted by name, as before)
class ManifestFile(NamedTuple):
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
    """Every manifest below ``directory``, sorted; partials, vars/ and rmapply.toml skipped.

    ManifestError when a manifest-named entry cannot be used (a link that is broken, loops or
    leaves the directory; a special file) or when there are no manifests at all: planning an
    empty directory would mean deleting everything, so it is never done by accident.
    """
    if not directory.is_dir():
        raise ConfigError(
            f"manifests directory {str(directory)!r} does not exist or is not a directory",
            hint="pass the directory with -C/--dir",
        )
    root = directory.resolve()
    found: list[ManifestFile] = []
    problems: list[ManifestProblem] = []
    pending = [""]
    visited = 0
    while pending:
        relative = pending.pop()
        try:
            entries = sorted(os.scandir(root / relative), key=lambda e: e.name)
        except OSError as exc:
            problems.append(
                ManifestProblem(relative or ".", message=f"cannot list: {exc.strerror}")
            )
            continue
        visited += len(entries)
        if visited > MAX_ENTRIES:
            raise ManifestError(
                [ManifestProblem(".", message=f"more than {MAX_ENTRIES:,} files and folders")],
                hint="is -C/--dir the manifests directory (the one holding rmapply.toml)?",
            )
        for entry in entries:
            name = f"{relative}/{entry.name}" if relative else entry.name
            if is_hidden(entry.name) or (not relative and entry.name in (CONFIG_FILE, VARS_DIR)):
                continue
            if entry.is_dir(follow_symlinks=False):
                pending.append(name)
                continue
            kind = manifest_format(entry.name)
            if kind is None:
                continue
            problem = _unusable(root, name, entry)
            if problem:
                problems.append(ManifestProblem(name, message=problem))
                continue
            found.append(ManifestFile(name, root / name, kind[0], kind[1]))
            if len(found) > MAX_FILES:
                raise ManifestError(
                    [ManifestProblem(".", message=f"more than {MAX_FILES} manifest files")]
                )
    if problems:
        raise ManifestError(problems)
    if not found:
        raise ManifestError(
            [
                ManifestProblem(
                    str(directory),
                    message="no manifests: no *.toml, *.yaml or *.yml file (or .j2 template) "
                    "outside _partials, .hidden folders, vars/ and rmapply.toml",
                )
            ],
            hint="pass -C with the manifests directory, or 'rmapply init' a new project; "
            "to ask for no resources at all, keep one empty manifest (e.g. workspaces.toml)",
        )
    return sorted(found)


def _unusable(root: Path, name: str, entry: os.DirEntry[str]) -> str | None:
    """Why a manifest-named entry cannot be read as a manifest, or None when it can."""
    try:
        is_file = entry.is_file()
    except OSError:  # e.g. ELOOP: a link that points at itself
        is_file = False
    if entry.is_symlink():
        try:
            target = (root / name).resolve(strict=True)
        except (OSError, RuntimeError):
            return "is a link that is broken or loops"
        if not target.is_relative_to(root):
            return "is a link that points outside the directory"
    if not is_file:
        return "is a link to a folder (not followed)" if entry.is_dir() else "is not a regular file"
    return None
