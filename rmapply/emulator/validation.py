"""Request bodies parsed with the wire models; pydantic's errors become InvalidParameter details."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from pydantic import ValidationError

from rmapply.emulator.problems import Detail, Problem, invalid_request
from rmapply.wire import CostEstimationParameters, WireModel
from rmapply.wire.paths import field_path

M = TypeVar("M", bound=WireModel)

INVALID_PARAMETER = "InvalidParameter"
MAX_COST_AMOUNT = 1_000_000  # gigapixels or megapoints; keeps cost and run time finite


def parse_json(raw: bytes, refusal: str) -> Any:
    """The JSON value of a request body; 422 with ``refusal`` as message when it is not JSON."""
    try:
        return json.loads(raw.decode("utf-8")) if raw.strip() else None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        detail = Detail(INVALID_PARAMETER, f"The request body is not valid JSON: {exc}.")
        raise invalid_request(refusal, [detail]) from exc


def parse_body(model: type[M], data: Any, refusal: str) -> M:
    """Parse a JSON value into ``model``; every problem is one detail of one 422 answer."""
    if not isinstance(data, dict):
        detail = Detail(INVALID_PARAMETER, "The request body must be a JSON object.")
        raise invalid_request(refusal, [detail])
    try:
        return model.from_wire(data)
    except ValidationError as exc:
        raise invalid_request(refusal, details_of(exc)) from exc


def details_of(exc: ValidationError) -> list[Detail]:
    """One InvalidParameter detail per pydantic error, in the API's wording."""
    details: list[Detail] = []
    seen: set[tuple[str, str]] = set()
    for error in exc.errors():
        loc = tuple(error["loc"])
        target = field_path(loc)
        name = _parameter_name(loc)
        kind = error["type"]
        if kind == "missing":
            message = f"Missing '{name}' parameter."
        elif kind == "extra_forbidden":
            message = f"Unknown '{name}' parameter."
        else:
            message = f"Invalid '{name}' parameter."
        if (target, message) not in seen:
            seen.add((target, message))
            details.append(Detail(INVALID_PARAMETER, message, target or None))
    return details


def _parameter_name(loc: tuple[int | str, ...]) -> str:
    for part in reversed(loc):
        if isinstance(part, str):
            return part
    return "body"


def invalid_parameter(name: str, target: str, reason: str = "") -> Detail:
    """A detail in the API's style for a rule the schema cannot express."""
    suffix = f" {reason}" if reason else ""
    return Detail(INVALID_PARAMETER, f"Invalid '{name}' parameter.{suffix}", target)


def refuse(refusal: str, details: list[Detail]) -> Problem:
    """422 InvalidContextCaptureRequest for business-rule problems found after parsing."""
    return invalid_request(refusal, details)


def cost_amount_details(params: CostEstimationParameters | None) -> list[Detail]:
    """Cost parameters must be amounts a job can have (they fix its cost and its run time)."""
    if params is None:
        return []
    values = {"gigaPixels": params.giga_pixels, "megaPoints": params.mega_points}
    return [
        invalid_parameter(
            name, f"costEstimationParameters.{name}", f"It must be between 0 and {MAX_COST_AMOUNT}."
        )
        for name, value in values.items()
        if value is not None and not 0 <= value <= MAX_COST_AMOUNT
    ]
