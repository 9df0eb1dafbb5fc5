"""Where an invalid rmapply.toml is wrong: the line of a key, the message of a validation error.

Imported only when the file has a problem, so a valid rmapply.toml never loads it (nor difflib).
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel

from rmapply.config import ProjectConfig
from rmapply.errors import ManifestProblem


def first_definition(text: str, message: str, line: int) -> int:
    """For "Cannot declare ... twice" / "Cannot overwrite a value": the line of the first
    definition (rmapply.toml has one level of tables), else 0."""
    lines = text.splitlines()
    if not 0 < line <= len(lines):
        return 0
    declared = re.match(r"Cannot declare \('([A-Za-z0-9_-]+)',\) twice", message)
    if declared:
        first = _key_line(text, [declared[1]])
    elif message.startswith("Cannot overwrite a value"):
        key = re.match(r"\s*\"?([A-Za-z0-9_-]+)\"?\s*=", lines[line - 1])
        headers = [
            m[1] for m in (re.match(r"\s*\[\s*([A-Za-z0-9_-]+)\s*\]", x) for x in lines[:line]) if m
        ]
        first = _key_line(text, [headers[-1], key[1]]) if key and headers else 0
    else:
        return 0
    return first if 0 < first < line else 0


def decode_position(message: str) -> tuple[int, int]:
    """The line and column a TOML decoding error names, else (0, 0)."""
    match = re.search(r"at line (\d+), column (\d+)", message)
    return (int(match[1]), int(match[2])) if match else (0, 0)


def located_problem(display: str, text: str, error: Any) -> ManifestProblem:
    """One pydantic validation error of rmapply.toml as a problem at its ``file:line``."""
    loc = [str(part) for part in error["loc"]]
    kind = error["type"]
    if kind == "extra_forbidden":
        message = f"unknown key {loc[-1]!r}" + _did_you_mean(loc[-1], _known_keys(loc[:-1]))
    elif kind == "missing":
        message = f"required key {loc[-1]!r} is missing"
    elif kind in _BOUNDS:
        word, bound = _BOUNDS[kind]
        message = f"must be {word} {error['ctx'][bound]}, got {error['input']!r}"
    elif kind in _EXPECTED:
        message = f"expected {_EXPECTED[kind]}, got {error['input']!r}"
    else:
        message = str(error["msg"]).removeprefix("Value error, ")
    line = _key_line(text, loc)
    return ManifestProblem(display, line, path=".".join(loc), message=message)


_BOUNDS = {
    "greater_than_equal": ("at least", "ge"),
    "less_than_equal": ("at most", "le"),
    "greater_than": ("more than", "gt"),
    "less_than": ("less than", "lt"),
}
_EXPECTED = {
    "int_parsing": "a whole number",
    "int_type": "a whole number",
    "int_from_float": "a whole number",
    "float_parsing": "a number",
    "float_type": "a number",
    "bool_parsing": "true or false",
    "bool_type": "true or false",
    "string_type": "a string",
    "dict_type": "a table",
    "model_type": "a table",
    "model_attributes_type": "a table",
}


def _known_keys(loc: list[str]) -> list[str]:
    model: type[BaseModel] = ProjectConfig
    for part in loc:
        annotation = model.model_fields[_attribute(model, part)].annotation
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return []
        model = annotation
    return [f.alias or name for name, f in model.model_fields.items()]


def _attribute(model: type[BaseModel], alias: str) -> str:
    for name, info in model.model_fields.items():
        if (info.alias or name) == alias:
            return name
    return alias


def _did_you_mean(word: str, choices: list[str]) -> str:
    import difflib  # here, not at the top: start-up never needs it

    folded = {c.lower(): c for c in choices}
    if word.lower() in folded:
        return f"; did you mean {folded[word.lower()]!r}?"
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    if close:
        return f"; did you mean {close[0]!r}?"
    return f" (known keys: {', '.join(choices)})" if choices else ""


def _key_line(text: str, loc: list[str]) -> int:
    """The line of ``[section]`` / ``key =`` in a small TOML file (good enough for rmapply.toml)."""
    if not loc:
        return 0
    section, key = loc[0], loc[1] if len(loc) > 1 else None
    current: str | None = None
    section_line = 0
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        header = re.match(r"^\[\s*([A-Za-z0-9_.\"-]+)\s*\]", stripped)
        if header:
            current = header[1].split(".")[0].strip('"')
            if current == section and not section_line:
                section_line = number
            continue
        assigned = re.match(r"^([A-Za-z0-9_\"-]+)\s*[.=]", stripped)
        if not assigned:
            continue
        name = assigned[1].strip('"')
        if current is None and name == section and not section_line:
            section_line = number
        if key is not None and current == section and name == key:
            return number
    return section_line


__all__ = ["decode_position", "first_definition", "located_problem"]
