"""Inputs that are other jobs' products: a job submitted before they exist fails when it starts.

Bentley's documents are silent on what the service does when a job reads the output of a job
that has not finished (or reuses a cache not yet produced); the emulator's choice, documented in
docs/emulator.md, is the strict one: readiness is judged when the job is submitted, and a job
whose inputs are not ready ends ``failed`` at its start, with ``InputNotReady`` in
``executionInformation.errors`` and no processing charged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rmapply.emulator.lifecycle import Schedule, snapshot
from rmapply.emulator.render import FAILURE_CODE_KEY, INPUT_NOT_READY_TITLE  # noqa: F401
from rmapply.emulator.storage import JobRow, Store
from rmapply.wire import JobState

INPUT_NOT_READY = "InputNotReady"


@dataclass(frozen=True)
class Unready:
    """One input (or cache) of a job that another job has not produced yet."""

    what: str  # "input 3fa8..." or "cache 3fa8..."
    producer: str  # the id of the job that produces it
    state: JobState

    def __str__(self) -> str:
        return f"{self.what} is produced by job {self.producer}, which is {self.state.value}"


def _producer_state(row: JobRow, now_ms: int) -> JobState:
    return snapshot(row.schedule, now_ms).state


def unready(store: Store, doc: dict[str, Any], now_ms: int) -> list[Unready]:
    """Every input of the job body ``doc`` that is the output of a job not ended in success,
    and its cache when ``useCache`` names a job (a cache's id is its job's id) not yet done."""
    found: list[Unready] = []
    for item in doc.get("inputs", []):
        input_id = str(item.get("id", "")).lower()
        for row in store.jobs_mentioning(input_id):
            outputs = row.doc.get("jobSettings", {}).get("outputs", [])
            if any(str(o.get("id", "")).lower() == input_id for o in outputs):
                state = _producer_state(row, now_ms)
                if state is not JobState.SUCCESS:
                    found.append(Unready(f"input {item['id']}", row.id, state))
    cache = doc.get("jobSettings", {}).get("cacheSettings") or {}
    use = cache.get("useCache")
    if isinstance(use, str) and use:
        producer = store.get_job(use.lower()) or store.get_job(use)
        creates = producer is not None and (
            (producer.doc.get("jobSettings", {}).get("cacheSettings") or {}).get("createCache")
        )
        if producer is not None and creates:
            state = _producer_state(producer, now_ms)
            if state is not JobState.SUCCESS:
                found.append(Unready(f"cache {use}", producer.id, state))
    return found


def submitted(store: Store, row: JobRow, schedule: Schedule, now_ms: int) -> JobRow:
    """``row`` submitted with ``schedule``; a job with unready inputs fails when it starts."""
    missing = unready(store, row.doc, now_ms)
    if not missing:
        return row.with_(schedule=schedule)
    started = schedule.started_ms
    failed = schedule._replace(ends_ms=started, outcome=JobState.FAILED)
    message = (
        "The job cannot start: "
        + "; ".join(str(m) for m in missing)
        + ". Create and submit a new job once every job it reads from has ended in success."
    )
    doc = {**row.doc, FAILURE_CODE_KEY: INPUT_NOT_READY}
    return row.with_(schedule=failed, doc=doc, fail_message=message)
