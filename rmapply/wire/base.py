"""The base of every wire model: camelCase aliases, one serialisation, tolerant parsing."""

from __future__ import annotations

from typing import Any, Self

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic.alias_generators import to_camel


class WireModel(BaseModel):
    """A body of the API: attributes in snake_case, JSON keys exactly as the API spells them."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
        use_enum_values=False,
    )

    def to_wire(self) -> dict[str, Any]:
        """The JSON-ready body as the API spells it; absent optional fields are left out."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)

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
            errors = exc.errors()
            if not errors or any(e["type"] != "extra_forbidden" for e in errors):
                raise
            pruned = _without_paths(data, [tuple(e["loc"]) for e in errors])
            return cls.model_validate(pruned)


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
