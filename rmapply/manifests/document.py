"""The desired state written back as a manifest document (``rmapply render``)."""

from __future__ import annotations

import json
from typing import Any

import tomli_w
import yaml

from rmapply.manifests.quoting import yaml_safe_json
from rmapply.model import DesiredState

FORMATS = ("toml", "yaml", "json")
# PyYAML writes these raw in single quotes with allow_unicode, and then reads them as line
# breaks (folding the spaces around them): such text is written double-quoted, escaped.
_LINE_BREAKS = ("\x85", "\u2028", "\u2029")


class _Dumper(yaml.SafeDumper):
    """SafeDumper whose strings always read back as themselves."""


def _represent_str(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    style = '"' if any(char in text for char in _LINE_BREAKS) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_Dumper.add_representer(str, _represent_str)


def to_document(desired: DesiredState) -> dict[str, Any]:
    """``{"workspaces": {KEY: {...}}, "jobs": {KEY: {...}}}``: itself a valid manifest."""
    return {
        "workspaces": {a.key: w.spec.to_wire() for a, w in sorted(desired.workspaces.items())},
        "jobs": {a.key: j.spec.to_wire() for a, j in sorted(desired.jobs.items())},
    }


def dump(document: dict[str, Any], fmt: str) -> str:
    """The document as TOML, YAML or JSON text; each loads back to the same resources."""
    if fmt == "toml":
        return str(tomli_w.dumps(document))
    if fmt == "yaml":
        return yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
    if fmt == "json":  # also read as YAML: no raw DEL, C1 controls or line separators
        return yaml_safe_json(json.dumps(document, indent=2, ensure_ascii=False)) + "\n"
    raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
