"""A stored job as the API shows it: the JSON body of ``GET /jobs/{id}`` and of a listing."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from rmapply.emulator.lifecycle import (
    FAIL_MARKER,
    estimated_cost,
    nominal_units,
    snapshot,
)
from rmapply.emulator.storage import JobRow
from rmapply.wire import JobState, JobType, Quality

DEFAULT_FAILURE = f"The job failed (emulator: its name contains '{FAIL_MARKER}')."
INPUT_NOT_READY_TITLE = "Input not ready"
# Key of the stored job body holding the code of a failure decided by the emulator; never shown
# as such (rendering turns it into executionInformation.errors).
FAILURE_CODE_KEY = "_failureCode"
# plain values, looked up once: an enum's .value is a descriptor call per job of a page
_CALIBRATION = JobType.CALIBRATION.value
_STATE_TEXT = {state: state.value for state in JobState}


def to_datetime(ms: int) -> datetime:
    """Simulated milliseconds as an aware UTC datetime."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def wire_datetime(ms: int) -> str:
    """Simulated milliseconds as the API writes a date (pydantic's form: UTC as ``Z``)."""
    return to_datetime(ms).isoformat().replace("+00:00", "Z")


def render_job_wire(row: JobRow, now_ms: int) -> dict[str, Any]:
    """The JSON body of the job at ``now_ms``, exactly ``render_job(...).to_wire()``.

    The stored document is already the wire form of validated bodies, so a listing of a
    thousand jobs serves these directly instead of building and dumping a model per job.
    """
    return WireRenderer(now_ms)(row)


class WireRenderer:
    """``render_job_wire`` at one instant for the rows of a page: the dates and costs that
    its jobs repeat (a job created and last modified at once, jobs of the same size) are
    worked out once per page, not once per job."""

    def __init__(self, now_ms: int) -> None:
        self.now_ms = now_ms
        self._dates: dict[int, str] = {}
        self._costs: dict[tuple[Any, ...], float] = {}

    def date(self, ms: int) -> str:
        """``wire_datetime(ms)``, remembered for the page."""
        text = self._dates.get(ms)
        if text is None:
            text = self._dates[ms] = wire_datetime(ms)
        return text

    def cost(self, params: dict[str, Any], quality: Any) -> float:
        """The estimated cost of a job with these cost parameters and job quality."""
        mesh = params.get("meshQuality")
        key = (params.get("gigaPixels"), params.get("megaPoints"), mesh, quality)
        cost = self._costs.get(key)
        if cost is None:
            cost = self._costs[key] = estimated_cost(
                key[0],
                key[1],
                Quality(mesh) if mesh else None,
                Quality(quality) if quality else None,
            )
        return cost

    def __call__(self, row: JobRow) -> dict[str, Any]:
        doc = row.doc
        snap = snapshot(row.schedule, self.now_ms, doc["type"] == _CALIBRATION)
        # the document's keys in their order, less the emulator's own, then the live fields
        data = dict(doc)
        code = data.pop(FAILURE_CODE_KEY, None)
        data["id"] = row.id
        data["state"] = _STATE_TEXT[snap.state]
        data["createdDateTime"] = self.date(row.created_ms)
        data["lastModifiedDateTime"] = self.date(row.modified_ms)
        cost: float | None = None
        params = doc.get("costEstimationParameters")
        if params is not None:
            cost = data["estimatedCost"] = self.cost(params, doc["jobSettings"].get("quality"))
        if snap.submitted_ms is not None:
            info: dict[str, Any] = {"submittedDateTime": self.date(snap.submitted_ms)}
            if snap.started_ms is not None:
                info["startedDateTime"] = self.date(snap.started_ms)
            if snap.ended_ms is not None:
                info["endedDateTime"] = self.date(snap.ended_ms)
                units = nominal_units(cost, row.schedule.run_ms)
                info["estimatedUnits"] = round(units * min(1.0, snap.executed_fraction), 2)
            if snap.state is JobState.FAILED:
                message = row.fail_message or DEFAULT_FAILURE
                title = INPUT_NOT_READY_TITLE if code else "Job failed"
                info["errors"] = [
                    {"code": code or "JobFailed", "title": title, "message": message, "params": []}
                ]
                info["warnings"] = []
            data["executionInformation"] = info
        return data
