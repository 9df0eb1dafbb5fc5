"""The one JSON dialect of rmapply's machine-readable output: the API's camelCase keys and a
``formatVersion`` on every document or line (see docs/reference.md, 'JSON output')."""

from __future__ import annotations

from typing import Any

# The version of the event, status, output and state documents (the plan has its own, 2): it
# grows when a field is renamed or removed, never when one is added.
OUTPUT_FORMAT_VERSION = 1
FORMAT_KEY = "formatVersion"


def versioned(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` with ``formatVersion`` first."""
    return {FORMAT_KEY: OUTPUT_FORMAT_VERSION, **data}


def camel(name: str) -> str:
    """``remote_id`` -> ``remoteId`` (a name already in camelCase is left as it is)."""
    first, *rest = name.split("_")
    return first + "".join(part[:1].upper() + part[1:] for part in rest)


def camel_keys(data: dict[str, Any], *, keep: frozenset[str] = frozenset()) -> dict[str, Any]:
    """The keys of ``data`` (and of the dicts in its lists) in camelCase; values under a key in
    ``keep`` (the API's own JSON, a map of output formats) are left as they are."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        shown = value
        if key not in keep:
            if isinstance(value, dict):
                shown = camel_keys(value, keep=keep)
            elif isinstance(value, list):
                shown = [camel_keys(v, keep=keep) if isinstance(v, dict) else v for v in value]
        out[camel(key)] = shown
    return out
