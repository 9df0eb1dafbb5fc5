"""A content-addressed cache of parsed manifests under ``.rmapply/cache`` in the directory."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib
import json
import os
import sys
from pathlib import Path
from typing import Any

import pydantic_core

from rmapply import __version__
from rmapply.manifests.parse import toml_parser

CACHE_DIR = ".rmapply/cache"
# Bump when the entry layout or anything that shapes parsed data changes.
CACHE_FORMAT = 2
# The libraries whose upgrade may change what a file renders or parses to: module and
# distribution (whose metadata gives the version without importing the module).
_LIBRARIES = (("jinja2", "Jinja2"), ("yaml", "PyYAML"))


@functools.cache
def _versions() -> list[str]:
    """``module==version`` of each library; a cache hit then imports neither Jinja nor PyYAML."""
    found = []
    for module, distribution in _LIBRARIES:
        version = _installed_version(distribution)
        if version is None:
            version = getattr(importlib.import_module(module), "__version__", "?")
        found.append(f"{module}=={version}")
    return [*found, f"{toml_parser.__name__}=={getattr(toml_parser, '__version__', '?')}"]


def _installed_version(distribution: str) -> str | None:
    """The installed version of ``distribution``, None when it has no metadata.

    The first ``NAME-VERSION.dist-info`` folder along ``sys.path`` names it, as the metadata
    would (the wheel format requires that name): importing ``importlib.metadata`` to read it
    costs a plan's start-up 10 to 20 ms. Anything less plain (an egg, two candidates in one
    folder) asks ``importlib.metadata``. The version only keys the cache: a wrong guess costs
    one render, never a wrong plan.
    """
    prefix = distribution.lower().replace("-", "_") + "-"
    for folder in sys.path:
        try:
            names = [n for n in os.listdir(folder or ".") if n.lower().startswith(prefix)]
        except OSError:  # a zip file, a folder that is gone
            continue
        if len(names) == 1 and names[0].endswith(".dist-info"):
            return names[0][len(prefix) : -len(".dist-info")]
        if names:
            return _metadata_version(distribution)
    return _metadata_version(distribution)


def _metadata_version(distribution: str) -> str | None:
    import importlib.metadata

    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:  # installed without metadata
        return None


def entry_key(name: str, source_digest: str, vars_digest: str) -> str:
    """The key of a manifest's entry: its name and bytes, the variables, and the versions of
    rmapply, the cache format and the libraries that render and parse."""
    versions = _versions()
    material = json.dumps([CACHE_FORMAT, __version__, versions, name, source_digest, vars_digest])
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


class ManifestCache:
    """One JSON entry per manifest file; an entry is used only when its key matches.

    The cache is an optimisation: an entry that cannot be read or written is ignored, and
    deleting the folder is always safe.
    """

    def __init__(self, directory: Path) -> None:
        self.folder = directory / CACHE_DIR

    def _path(self, name: str) -> Path:
        return self.folder / (hashlib.sha256(name.encode("utf-8")).hexdigest()[:32] + ".json")

    def get(self, name: str, key: str) -> dict[str, Any] | None:
        """The entry of manifest ``name`` if it was stored under ``key``."""
        try:
            # pydantic_core's parser reads an entry of 1,000 jobs in 2.5 ms, json.loads in 3.7
            entry = pydantic_core.from_json(self._path(name).read_bytes())
        except (OSError, ValueError, RecursionError):
            return None
        if not isinstance(entry, dict) or entry.get("key") != key or entry.get("name") != name:
            return None
        return entry

    def put(self, name: str, key: str, entry: dict[str, Any]) -> None:
        """Store ``entry`` (plain JSON data: the caller checks) for manifest ``name`` atomically
        (write a temporary file, rename)."""
        import tempfile  # here, not at the top: start-up never needs it

        try:
            # pydantic_core's encoder is three times faster than json.dumps on 10,000 jobs;
            # "constants" writes inf and nan as json.dumps does (json.loads reads them back).
            text = pydantic_core.to_json(
                {**entry, "key": key, "name": name}, inf_nan_mode="constants"
            )
        except (TypeError, ValueError, RecursionError):
            return
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=self.folder, suffix=".tmp")
            with os.fdopen(handle, "wb") as stream:
                stream.write(text)
            os.replace(temporary, self._path(name))
        except OSError:
            with contextlib.suppress(OSError, UnboundLocalError):
                os.unlink(temporary)

    def prune(self, names: list[str]) -> None:
        """Delete entries of manifests that no longer exist."""
        keep = {self._path(name).name for name in names}
        with contextlib.suppress(OSError):
            for path in self.folder.glob("*.json"):
                if path.name not in keep:
                    path.unlink()
