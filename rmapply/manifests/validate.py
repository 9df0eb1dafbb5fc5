"""Validation of resources against the specs (the API's creation models plus reconciler fields)."""

from __future__ import annotations

import marshal
import types
import typing
from collections.abc import Iterable
from enum import Enum
from typing import Any, cast

from pydantic import BaseModel, ValidationError

from rmapply.config import ProjectConfig
from rmapply.manifests.findings import Finding, PathPart
from rmapply.manifests.parse import RESOURCE_KINDS, Document
from rmapply.manifests.suggest import did_you_mean
from rmapply.model import JobSpec, WorkspaceSpec
from rmapply.model.address import KEY_PATTERN
from rmapply.plain_record import PlainRecord
from rmapply.wire import JobType, OutputFormat, Quality

# What an enum field holds, for messages like "'X' is not an output format".
ENUM_NOUNS: dict[str, tuple[str, type[Enum]]] = {
    "type": ("a job type", JobType),
    "quality": ("a quality", Quality),
    "meshQuality": ("a quality", Quality),
    "outputs": ("an output format", OutputFormat),
}
MODEL_NOUNS = {JobSpec: "a job", WorkspaceSpec: "a workspace"}
_TYPE_WORDS = {
    "string_type": "a string",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "list_type": "a list",
    "model_type": "a table (mapping)",
    "model_attributes_type": "a table (mapping)",
    "dict_type": "a table (mapping)",
}


# Written out as @dataclass(slots=True) would make it (init, repr, eq): the decorator costs a
# dozen times as much at import, and a named tuple's fields read slower (one per resource).
class Resource(PlainRecord):
    """One resource as written: kind, key, raw data and where it came from."""

    __slots__ = _FIELDS = ("kind", "key", "data", "file", "document", "line", "origin")
    kind: str
    key: str
    data: Any
    file: str
    document: int
    line: int  # in the rendered text
    origin: str  # "file:line" where it was written (the template's line)

    def __init__(  # noqa: PLR0917 - the dataclass's signature, kept for its callers
        self, kind: str, key: str, data: Any, file: str, document: int, line: int, origin: str = ""
    ) -> None:
        self.kind = kind
        self.key = key
        self.data = data
        self.file = file
        self.document = document
        self.line = line
        self.origin = origin


def collect(
    units: Iterable[tuple[str, list[Document], dict[tuple[str, str], tuple[str, int]]]],
) -> tuple[list[Resource], list[Finding]]:
    """Resources of every document; top-level shape, key syntax and duplicates checked.

    Each unit is (file, documents, origins) where origins maps (kind, key) to the template
    file and line that wrote the resource.
    """
    resources: list[Resource] = []
    findings: list[Finding] = []
    seen: dict[tuple[str, str], Resource] = {}
    for file, documents, origins in units:
        for document in documents:
            data = document.data
            if not isinstance(data, dict):
                findings.append(
                    Finding(
                        file, (), "a manifest holds tables 'workspaces' and 'jobs'", document.index
                    )
                )
                continue
            for top, table in data.items():
                if top not in RESOURCE_KINDS:
                    message = f"unknown top-level key {top!r}" + (
                        did_you_mean(str(top), RESOURCE_KINDS)
                        or "; expected 'workspaces' or 'jobs'"
                    )
                    findings.append(Finding(file, (str(top),), message, document.index))
                    continue
                if not isinstance(table, dict):
                    message = f"expected a table of {top} by key, got {describe(table)}"
                    findings.append(Finding(file, (top,), message, document.index))
                    continue
                lines = document.lines
                for key, body in table.items():
                    name = str(key)
                    where = (top, name)  # (top, key) itself when the key is a valid one
                    line = lines.get(where, 0)
                    source, source_line = origins.get(where, (file, 0))
                    origin = f"{source}:{source_line}" if source_line else source
                    resource = Resource(top, name, body, file, document.index, line, origin)
                    if not isinstance(key, str) or not KEY_PATTERN.fullmatch(key):
                        message = f"{name!r} is not a valid key: use [a-z0-9][a-z0-9_-]*"
                        findings.append(Finding(file, where, message, document.index, line=line))
                        continue
                    first = seen.get(where)
                    if first is not None:
                        findings.append(_duplicate(resource, first))
                        findings.append(_duplicate(first, resource))
                        continue
                    seen[where] = resource
                    resources.append(resource)
    return resources, findings


def _duplicate(here: Resource, other: Resource) -> Finding:
    return Finding(
        here.file,
        (here.kind, here.key),
        f"defined twice: here and at {other.origin}; keys are unique across the directory",
        here.document,
        line=here.line,
    )


# Tables many jobs write alike (a template's settings) are validated once: the validated
# (frozen) value goes into the next such job's data, and a model field takes an instance of its
# model as it is. Keyed by the table's marshal bytes, not by ==: 1 == 1.0 == True, yet a strict
# field refuses 1 for true; marshal writes each type apart (and refuses any other type).
_SHARED_TABLES = {"settings": "settings", "costEstimationParameters": "cost_estimation_parameters"}

# validated tables by (table, marshal bytes of the table as written)
Validated = dict[tuple[str, bytes], Any]


def validate_resource(
    resource: Resource, config: ProjectConfig, validated: Validated | None = None
) -> tuple[JobSpec | WorkspaceSpec | None, list[Finding]]:
    """The spec of one resource, defaults applied; or findings for every invalid field.

    ``validated`` (one per load) holds the tables of the jobs validated so far: a job that
    writes a table exactly as an earlier valid job did takes that job's value.
    """
    model: type[JobSpec] | type[WorkspaceSpec] = (
        JobSpec if resource.kind == "jobs" else WorkspaceSpec
    )
    base: tuple[PathPart, ...] = (resource.kind, resource.key)
    data = resource.data
    if not isinstance(data, dict):
        message = f"expected a table with the fields of {MODEL_NOUNS[model]}, got {describe(data)}"
        return None, [Finding(resource.file, base, message, resource.document, line=resource.line)]
    data = dict(data)
    fresh: list[tuple[str, bytes]] = []
    if model is JobSpec:
        data.setdefault("submit", config.defaults.submit)
        data.setdefault("retryFailed", config.defaults.retry_failed)
        if validated is not None:
            fresh = _reuse(data, validated)
    elif config.itwin_id is not None:
        data.setdefault("iTwinId", config.itwin_id)
    try:
        # the validator itself, as model_validate calls it (one call less per resource)
        spec = model.__pydantic_validator__.validate_python(data, by_alias=True, by_name=False)
        if validated is not None:
            for key in fresh:
                validated[key] = getattr(spec, _SHARED_TABLES[key[0]])
        return cast("JobSpec | WorkspaceSpec", spec), []
    except ValidationError as exc:
        findings = [
            Finding(
                resource.file,
                base + path,
                message,
                resource.document,
                line=resource.line if not path else 0,
            )
            for path, message in (translate(error, model) for error in exc.errors())
        ]
        return None, findings


def _reuse(data: dict[str, Any], validated: Validated) -> list[tuple[str, bytes]]:
    """Put the values of tables validated before into ``data``; the keys of the others."""
    fresh = []
    for table in _SHARED_TABLES:
        written = data.get(table)
        if type(written) is not dict:
            continue
        try:
            key = (table, marshal.dumps(written, 2))  # version 2: no back-references
        except ValueError:  # a value of another type (a date, say): validated as it is
            continue
        known = validated.get(key)
        if known is None:
            fresh.append(key)
        else:
            data[table] = known
    return fresh


def translate(error: Any, model: type[BaseModel]) -> tuple[tuple[PathPart, ...], str]:
    """A pydantic error as (path below the resource, message a person acts on)."""
    loc: tuple[PathPart, ...] = tuple(error["loc"])
    kind = error["type"]
    value = error.get("input")
    if kind == "extra_forbidden":
        owner = model_at(model, loc[:-1])
        noun = MODEL_NOUNS.get(owner, f"'{_field_name(loc[:-1])}'") if owner else "this table"
        known = fields_of(owner) if owner else []
        return loc, f"{loc[-1]!r} is not a field of {noun}" + (
            did_you_mean(str(loc[-1]), known) or f" (fields: {', '.join(known)})"
        )
    if kind == "missing":
        return loc, "required field is missing"
    if kind == "enum":
        noun, enum = ENUM_NOUNS.get(_field_name(loc), ("one of the allowed values", None))
        choices = [member.value for member in enum] if enum else []
        hint = did_you_mean(str(value), choices) if isinstance(value, str) else ""
        if not hint:
            hint = f" (one of {error['ctx']['expected']})"
        return loc, f"{value!r} is not {noun}{hint}"
    if kind in _TYPE_WORDS:
        return loc, f"expected {_TYPE_WORDS[kind]}, got {describe(value)}"
    return loc, str(error["msg"]).removeprefix("Value error, ")


def _field_name(loc: tuple[PathPart, ...]) -> str:
    names = [part for part in loc if isinstance(part, str)]
    return names[-1] if names else ""


def describe(value: Any) -> str:
    """A short description of a wrong value: ``an integer (42)``."""
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, int):
        return f"an integer ({value})"
    if isinstance(value, float):
        return f"a number ({value})"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"a string ({shown!r})"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing (null)"
    return f"a {type(value).__name__}"


def model_at(model: type[BaseModel], loc: tuple[PathPart, ...]) -> type[BaseModel] | None:
    """The model that validates the table at ``loc`` below ``model`` (list indices skipped)."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        field = next((f for n, f in current.model_fields.items() if (f.alias or n) == part), None)
        if field is None:
            return None
        current = _model_in(field.annotation)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _model_in(annotation: Any) -> Any:
    """The model inside ``X | None`` or ``list[X]``."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType, list):
        for arg in typing.get_args(annotation):
            found = _model_in(arg)
            if isinstance(found, type) and issubclass(found, BaseModel):
                return found
        return None
    return annotation


def fields_of(model: type[BaseModel]) -> list[str]:
    """The field names of ``model`` as a manifest spells them."""
    return [field.alias or name for name, field in model.model_fields.items()]
