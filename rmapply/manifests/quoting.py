"""Template filters that write a value as valid TOML, YAML or JSON, whatever it contains."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

_BARE_TOML_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_TOML_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
}
# Characters PyYAML accepts in a stream; anything else is written as an escape.
# Printable, but YAML reads them as line breaks (folding the spaces around them) or a BOM.
_YAML_BREAKS = frozenset("\x85\u2028\u2029\ufeff")
_YAML_PRINTABLE = re.compile("[\x09\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class QuotingError(ValueError):
    """A value that the target format cannot hold (e.g. null in TOML)."""


# What JSON leaves raw but YAML or TOML would refuse or fold: DEL, C1 controls (NEL is a YAML
# line break), the YAML line and paragraph separators, BOM and the non-characters.
_JSON_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff]")


def to_json(value: Any) -> str:
    """JSON text of ``value``, also valid as a YAML flow value (same data) and, for strings,
    numbers and booleans, as a TOML value."""
    try:
        text = _json(value)
    except (TypeError, ValueError, RecursionError) as exc:
        raise QuotingError(f"tojson: {exc}") from None
    return yaml_safe_json(text)


def yaml_safe_json(text: str) -> str:
    """JSON text with what YAML would refuse or fold written as ``\\uXXXX`` escapes."""
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m[0]):04x}", text)


def _json(value: Any) -> str:
    if isinstance(value, float) and not isinstance(value, bool):
        if not math.isfinite(value):
            raise ValueError(f"JSON has no {value}")
        text = repr(value)
        # YAML 1.1 reads 1e+20 as text; 1.0e+20 is the same number in JSON, YAML and TOML.
        return text if "." in text or "e" not in text else text.replace("e", ".0e", 1)
    if isinstance(value, Mapping):
        items = (f"{_json_key(k)}: {_json(v)}" for k, v in value.items())
        return "{" + ", ".join(items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_json(item) for item in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def _json_key(key: Any) -> str:
    """A mapping key as JSON writes it: text as is, numbers, booleans and null as their JSON."""
    if not isinstance(key, str):
        if not (key is None or isinstance(key, int | float)):
            raise TypeError(f"keys must be str, int, float, bool or None, not {type(key).__name__}")
        key = json.dumps(key)
    return json.dumps(key, ensure_ascii=False)


def to_toml(value: Any) -> str:
    """An inline TOML value: a quoted string, number, boolean, array or inline table."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, Mapping):
        items = ", ".join(f"{_toml_key(str(k))} = {to_toml(v)}" for k, v in value.items())
        return "{ " + items + " }" if items else "{}"
    if isinstance(value, Sequence):
        return "[" + ", ".join(to_toml(item) for item in value) + "]"
    if value is None:
        raise QuotingError("toml: TOML has no null; leave the key out instead")
    return _toml_string(str(value))


def _toml_string(text: str) -> str:
    out = []
    for char in text:
        if char in _TOML_ESCAPES:
            out.append(_TOML_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _toml_key(key: str) -> str:
    return key if _BARE_TOML_KEY.fullmatch(key) else _toml_string(key)


def to_yaml(value: Any) -> str:
    """A one-line YAML flow value: double-quoted string, number, boolean, null, [..], {..}."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return ".nan"
        if math.isinf(value):
            return ".inf" if value > 0 else "-.inf"
        text = repr(value)
        # PyYAML (YAML 1.1) reads 1e+20 as a string unless it has a dot: 1.0e+20
        return text if "." in text or "e" not in text else text.replace("e", ".0e", 1)
    if isinstance(value, str):
        return _yaml_string(value)
    if isinstance(value, Mapping):
        return (
            "{" + ", ".join(f"{_yaml_string(str(k))}: {to_yaml(v)}" for k, v in value.items()) + "}"
        )
    if isinstance(value, Sequence):
        return "[" + ", ".join(to_yaml(item) for item in value) + "]"
    return _yaml_string(str(value))


def _yaml_string(text: str) -> str:
    out = []
    for char in text:
        if char == '"':
            out.append('\\"')
        elif char == "\\":
            out.append("\\\\")
        elif char == "\n":
            out.append("\\n")
        elif char == "\t" or (_YAML_PRINTABLE.match(char) and char not in _YAML_BREAKS):
            out.append(char)
        elif ord(char) <= 0xFF:
            out.append(f"\\x{ord(char):02x}")
        elif ord(char) <= 0xFFFF:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(f"\\U{ord(char):08x}")
    return '"' + "".join(out) + '"'
