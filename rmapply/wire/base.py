"""The base of every wire model: camelCase aliases, one serialisation, tolerant parsing."""

# Annotations are objects here, not strings (no ``from __future__ import annotations``):
# pydantic would compile and evaluate each string of each model class at import.

import math
from typing import Annotated, Any, Self

from pydantic import BaseModel, BeforeValidator, ConfigDict, Strict, ValidationError
from pydantic.types import AllowInfNan

from rmapply.wire.aliases import camel_alias


def _number_text(value: Any) -> Any:
    """A number sent as text ("2.5", as Bentley's Python SDK sends it) as a float."""
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return value
    return value


def _integer_text(value: Any) -> Any:
    """An integer sent as text ("5") or as a whole float (5.0) as an int."""
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return value


def _boolean_text(value: Any) -> Any:
    """A boolean sent as text ("True", as Bentley's Python SDK sends it) as a bool."""
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return value


# Request fields that Bentley's Python SDK sends as text. Exactly that leniency and no more:
# booleans are not read from 0/1/"yes", numbers not from booleans, NaN and infinity are refused
# (docs/emulator.md, "Where the official documents are silent").
LenientFloat = Annotated[float, BeforeValidator(_number_text), Strict(), AllowInfNan(False)]
LenientInt = Annotated[int, BeforeValidator(_integer_text), Strict()]
LenientBool = Annotated[bool, BeforeValidator(_boolean_text), Strict()]


class WireModel(BaseModel):
    """A body of the API: attributes in snake_case, JSON keys exactly as the API spells them."""

    model_config = ConfigDict(
        alias_generator=camel_alias,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
        use_enum_values=False,
        # validators built on first use: start-up pays only for the models a path uses
        defer_build=True,
    )

    def to_wire(self) -> dict[str, Any]:
        """The JSON-ready body as the API spells it; absent optional fields are left out."""
        # model_dump(mode="json", by_alias=True, exclude_none=True) without its Python wrapper,
        # which costs an eighth of the dump: a plan dumps every job's spec and remote job
        dumped: dict[str, Any] = self.__pydantic_serializer__.to_python(
            self, mode="json", by_alias=True, exclude_none=True
        )
        return dumped

    @classmethod
    def from_wire(cls, data: Any) -> Self:
        """Parse a body strictly as the OpenAPI file describes it (extra fields refused)."""
        return cls.model_validate(data)

    @classmethod
    def from_answer(cls, data: Any) -> Self:
        """Parse a server's answer, ignoring fields the spec does not know yet.

        The OpenAPI file forbids extra fields in responses, but a live service that adds a field
        must not break the client, so those (and only those) are dropped before parsing again.
        """
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            extra = [tuple(e["loc"]) for e in exc.errors() if e["type"] == "extra_forbidden"]
            if not extra:
                raise
            # Whatever else is wrong is then reported without the noise of the unknown fields.
            return cls.model_validate(_without_paths(data, extra))


def _without_paths(data: Any, paths: list[tuple[int | str, ...]]) -> Any:
    """A deep copy of ``data`` without the keys at ``paths``."""
    if not paths:
        return data
    if isinstance(data, dict):
        here = {p[0] for p in paths if len(p) == 1}
        out: dict[str, Any] = {}
        for key, value in data.items():
            if key in here:
                continue
            deeper = [p[1:] for p in paths if len(p) > 1 and p[0] == key]
            out[key] = _without_paths(value, deeper)
        return out
    if isinstance(data, list):
        return [
            _without_paths(item, [p[1:] for p in paths if len(p) > 1 and p[0] == i])
            for i, item in enumerate(data)
        ]
    return data
