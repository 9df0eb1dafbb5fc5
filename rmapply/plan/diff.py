"""Field-level differences between two specs (wire JSON), run only where the digests differ."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from rmapply.model import FieldClass, classify_job_field
from rmapply.plan.actions import FieldDiff
from rmapply.wire.paths import field_path as format_path

_ADDED = ("dictionary_item_added", "iterable_item_added")
_REMOVED = ("dictionary_item_removed", "iterable_item_removed")
_CHANGED = ("values_changed", "type_changes")


def classify_workspace_field(path: str) -> FieldClass:
    """A workspace's name is cosmetic; anything else decides where and how its jobs run."""
    return FieldClass.COSMETIC if path == "name" else FieldClass.RERUN


def parse_path(path: str) -> list[str | int]:
    """``inputs[0].id`` -> ``['inputs', 0, 'id']``."""
    return [int(p) if p.isdigit() else p for p in re.findall(r"[^.\[\]]+", path)]


def value_at(data: Any, parts: list[str | int]) -> Any:
    """The value at ``parts`` inside JSON ``data``, or None."""
    for part in parts:
        if isinstance(data, dict) and isinstance(part, str):
            data = data.get(part)
        elif isinstance(data, list) and isinstance(part, int) and part < len(data):
            data = data[part]
        else:
            return None
    return data


def _scalar_list(value: Any) -> bool:
    return isinstance(value, list) and all(not isinstance(v, dict | list) for v in value)


def spec_diff(
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    classify: Callable[[str], FieldClass] = classify_job_field,
) -> tuple[FieldDiff, ...]:
    """Every changed leaf, sorted by path; a changed list of plain values is shown whole."""
    # deepdiff costs ~0.1 s to import: only plans with changes pay for it.
    from deepdiff import DeepDiff

    tree = DeepDiff(
        dict(before), dict(after), view="tree", ignore_numeric_type_changes=True, verbose_level=2
    )
    changes: dict[str, FieldDiff] = {}
    for report, items in tree.items():
        for item in items:
            parts: list[str | int] = list(item.path(output_format="list"))
            parent = parts[:-1]
            if parts and isinstance(parts[-1], int):
                old, new = value_at(before, parent), value_at(after, parent)
                if _scalar_list(old) or _scalar_list(new):
                    # settings.outputs: ["OBJ"] -> ["OBJ", "3MX"] reads better than per index
                    path = format_path(parent)
                    changes[path] = FieldDiff(
                        path=path,
                        change=_kind(old, new),
                        before=old,
                        after=new,
                        field_class=classify(path),
                    )
                    continue
            path = format_path(parts)
            if report in _ADDED:
                change = FieldDiff(
                    path=path, change="added", after=item.t2, field_class=classify(path)
                )
            elif report in _REMOVED:
                change = FieldDiff(
                    path=path, change="removed", before=item.t1, field_class=classify(path)
                )
            elif report in _CHANGED:
                change = FieldDiff(
                    path=path, before=item.t1, after=item.t2, field_class=classify(path)
                )
            else:  # pragma: no cover - JSON values produce no other reports
                continue
            changes[path] = change
    return tuple(changes[p] for p in sorted(changes))


def _kind(old: Any, new: Any) -> Any:
    if old is None:
        return "added"
    if new is None:
        return "removed"
    return "changed"


def describe_value(value: Any) -> str:
    """A value as JSON, compact: ``"Medium"``, ``["OBJ", "3MX"]``, ``2.5``."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def describe_diff(change: FieldDiff) -> str:
    """``settings.quality: "Medium" -> "Extra"``; an absent side is written ``(absent)``."""
    old = "(absent)" if change.change == "added" else describe_value(change.before)
    new = "(absent)" if change.change == "removed" else describe_value(change.after)
    return f"{change.path}: {old} -> {new}"
