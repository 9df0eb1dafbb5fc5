"""Job bodies rmapply sends to the v1 API: creation and patch (what the service answers is in
rmapply.wire.answers: a plan that reads nothing never builds those models; the creation body is
in rmapply.wire.job_creation: a plan that creates no job never makes it)."""

# Annotations are objects here, not strings (no ``from __future__ import annotations``):
# pydantic would compile and evaluate each string of each model class at import.

from typing import Any

from pydantic import field_validator

from rmapply.wire.base import LenientBool, LenientFloat, LenientInt, WireModel
from rmapply.wire.enums import JobType, OutputFormat, PatchState, Quality


class CostEstimationParameters(WireModel):
    """Schema ``costEstimationParameters``: what the service prices a job from."""

    giga_pixels: LenientFloat | None = None
    mega_points: LenientFloat | None = None
    mesh_quality: Quality | None = None


class JobInput(WireModel):
    """Schema ``jobInput``: a reality-data id the job reads."""

    id: str
    description: str | None = None


class CacheSettings(WireModel):
    """Schema ``cacheSettings``: whether a job creates a cache, and which cache it reuses."""

    create_cache: LenientBool | None = None
    use_cache: str | None = None


class JobCreateSettings(WireModel):
    """Schema ``jobCreateSettings``: settings of a new job."""

    quality: Quality
    processing_engines: LenientInt | None = None
    outputs: list[OutputFormat]
    cache_settings: CacheSettings | None = None


class JobPatchSettings(WireModel):
    """Schema ``jobPatchSettings``: settings of an unsubmitted job to replace."""

    quality: Quality | None = None
    processing_engines: LenientInt | None = None
    outputs: list[OutputFormat] | None = None
    cache_settings: CacheSettings | None = None


class JobPatch(WireModel):
    """Schema ``jobPatch``: the body of ``PATCH /jobs/{id}`` (submit, cancel or modify)."""

    state: PatchState | None = None
    cost_estimation_parameters: CostEstimationParameters | None = None
    type: JobType | None = None
    settings: JobPatchSettings | None = None

    @field_validator("state", mode="before")
    @classmethod
    def _state_any_case(cls, value: Any) -> Any:
        # Both official SDKs send "active"/"cancelled" and the live service accepts them.
        if isinstance(value, str):
            for member in PatchState:
                if member.value.lower() == value.lower():
                    return member
        return value
