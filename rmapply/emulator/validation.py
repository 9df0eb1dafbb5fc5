"""Business rules a schema cannot express, as InvalidParameter details of a 422 answer."""

from __future__ import annotations

from rmapply.emulator.problems import Detail, Problem, invalid_request
from rmapply.wire import CostEstimationParameters

INVALID_PARAMETER = "InvalidParameter"
MAX_COST_AMOUNT = 1_000_000  # gigapixels or megapoints; keeps cost and run time finite


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
