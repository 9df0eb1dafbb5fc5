"""The body of ``POST /jobs``: made on first use (a plan that creates no job never needs it)."""

# Annotations are objects here, not strings (no ``from __future__ import annotations``):
# pydantic would compile and evaluate each string of each model class at import.

from rmapply.wire.base import WireModel
from rmapply.wire.enums import JobType
from rmapply.wire.jobs import CostEstimationParameters, JobCreateSettings, JobInput


class JobCreation(WireModel):
    """Schema ``jobCreation``: the body of ``POST /jobs``."""

    type: JobType
    name: str
    cost_estimation_parameters: CostEstimationParameters | None = None
    workspace_id: str
    inputs: list[JobInput]
    settings: JobCreateSettings
