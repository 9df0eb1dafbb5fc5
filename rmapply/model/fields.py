"""Field classes: what a change to a job's field means for a job that was already submitted."""

from __future__ import annotations

import functools
import re
from enum import StrEnum


class FieldClass(StrEnum):
    """How a changed field is treated."""

    RERUN = "rerun"  # changes what the job computes: a submitted job must be replaced (costs money)
    COSMETIC = "cosmetic"  # name, input descriptions: recorded, never re-runs a job
    ESTIMATE = "estimate"  # costEstimationParameters: only the estimate changes
    RECONCILER = "reconciler"  # rmapply's own fields (submit, dependsOn, ...): never sent as such


@functools.cache  # compiled on first use: a plan with no changed field classifies none
def _rules() -> tuple[tuple[re.Pattern[str], FieldClass], ...]:
    return (
        (re.compile(r"^name$"), FieldClass.COSMETIC),
        (re.compile(r"^inputs\[\d+\]\.description$"), FieldClass.COSMETIC),
        (re.compile(r"^costEstimationParameters(\.|$)"), FieldClass.ESTIMATE),
        (re.compile(r"^(submit|dependsOn|retryFailed)(\.|\[|$)"), FieldClass.RECONCILER),
    )


def classify_job_field(path: str) -> FieldClass:
    """The class of a job field given as a dotted path (``settings.quality``, ``inputs[0].id``)."""
    for pattern, field_class in _rules():
        if pattern.search(path):
            return field_class
    # type, inputs[].id, settings.*, workspace, workspaceId and anything unknown: assume it
    # changes the result, which is the safe side (a re-run is shown, never silently skipped).
    return FieldClass.RERUN


# Fields the PATCH endpoint can change on an unsubmitted job.
PATCHABLE_JOB_FIELDS = frozenset({"type", "settings", "costEstimationParameters"})
