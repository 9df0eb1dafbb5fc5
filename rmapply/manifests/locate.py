"""Positions of fields in rendered text, computed only when a finding needs a line."""

from __future__ import annotations

from typing import Any

import yaml

from rmapply.manifests.parse import YamlLoader
from rmapply.manifests.toml_positions import PathKey, Position, nearest, toml_positions

_MAX_POSITIONS = 2_000_000


def text_positions(text: str, fmt: str) -> list[dict[PathKey, Position]]:
    """Per document, ``{path: (line, column)}`` of every key and list item."""
    if fmt == "toml":
        return [toml_positions(text)]
    documents: list[dict[PathKey, Position]] = []
    loader = YamlLoader(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            if isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null"):
                continue
            documents.append(_yaml_positions(node))
    except yaml.YAMLError:
        pass
    finally:
        loader.dispose()
    return documents


def _yaml_positions(root: Any) -> dict[PathKey, Position]:
    out: dict[PathKey, Position] = {}
    stack: list[tuple[PathKey, Any]] = [((), root)]
    while stack and len(out) < _MAX_POSITIONS:
        path, node = stack.pop()
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode):
                    child = (*path, key.value)
                    out.setdefault(child, (key.start_mark.line + 1, key.start_mark.column + 1))
                    stack.append((child, value))
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                child = (*path, index)
                out.setdefault(child, (item.start_mark.line + 1, item.start_mark.column + 1))
                stack.append((child, item))
    return out


def position(documents: list[dict[PathKey, Position]], document: int, path: PathKey) -> Position:
    """The position of ``path`` (or its nearest written parent) in document ``document``."""
    if not 0 <= document < len(documents):
        return (0, 0)
    return nearest(documents[document], path)
