"""The end of an apply: what was done, what failed (with the API's code), skipped or held."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from rmapply.errors import ApiError, ApplyError, RmapplyError
from rmapply.wire import JobState

# the note of a workspace created again after a lost answer: the closing summary names it
RECREATED_NOTE = "created again;"


class OutcomeStatus(StrEnum):
    """How one planned action ended."""

    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"  # not attempted: a dependency failed, or apply was interrupted
    HELD = "held"  # created but not submitted: the budget would have been exceeded
    UNKNOWN = "unknown"  # sent, answer lost, not resolvable now: shown by every plan
    # not submitted yet: an upstream job has not succeeded; the next apply carries it on
    WAITING = "waiting"


@dataclass(frozen=True)
class ActionOutcome:
    """One action's end, with the API's error code and message when it failed."""

    address: str
    action: str
    status: OutcomeStatus
    message: str = ""
    code: str | None = None
    api_message: str | None = None
    remote_id: str | None = None
    commands: tuple[str, ...] = ()  # unknown outcome: the exact commands that settle it

    @classmethod
    def failed(cls, address: str, action: str, error: RmapplyError) -> ActionOutcome:
        """A failure, keeping the API's code and message when there is one."""
        code = api_message = None
        if isinstance(error, ApiError):
            code, api_message = error.code, error.api_message
        return cls(address, action, OutcomeStatus.FAILED, error.message, code, api_message)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict (absent values left out)."""
        out: dict[str, Any] = {"address": self.address, "action": self.action}
        out["status"] = self.status.value
        for key, value in (
            ("message", self.message),
            ("code", self.code),
            ("apiMessage", self.api_message),
            ("remoteId", self.remote_id),
        ):
            if value:
                out[key] = value
        if self.commands:
            out["commands"] = list(self.commands)
        return out


@dataclass(frozen=True)
class ApplySummary:
    """Every action's outcome in plan order, plus what waiting found."""

    outcomes: tuple[ActionOutcome, ...] = ()
    budget_message: str = ""
    budget_hint: str = ""
    job_states: dict[str, str] = field(default_factory=dict)  # settled by --wait
    still_running: tuple[str, ...] = ()
    interrupted: bool = False

    def with_status(self, status: OutcomeStatus) -> list[ActionOutcome]:
        """The outcomes with ``status``."""
        return [o for o in self.outcomes if o.status is status]

    @property
    def failed_jobs(self) -> list[str]:
        """Jobs that --wait saw end failed or cancelled."""
        return sorted(
            a for a, s in self.job_states.items() if s in (JobState.FAILED, JobState.CANCELLED)
        )

    @property
    def ok(self) -> bool:
        """True when nothing failed, was skipped, held, left unknown or ended badly."""
        bad = {
            OutcomeStatus.FAILED,
            OutcomeStatus.SKIPPED,
            OutcomeStatus.HELD,
            OutcomeStatus.UNKNOWN,
        }
        return not any(o.status in bad for o in self.outcomes) and not self.failed_jobs

    def counts(self) -> dict[str, int]:
        """Number of outcomes per status (every status present)."""
        return {s.value: len(self.with_status(s)) for s in OutcomeStatus}

    def done_by_action(self) -> dict[str, int]:
        """Number of DONE outcomes per action or step (create, submit, cancel, ...)."""
        done: dict[str, int] = {}
        for outcome in self.with_status(OutcomeStatus.DONE):
            done[outcome.action] = done.get(outcome.action, 0) + 1
        return done

    def to_json(self) -> dict[str, Any]:
        """JSON-ready summary, the payload of ApplyError.summary and of ``--json``."""
        out: dict[str, Any] = {"counts": self.counts(), "doneByAction": self.done_by_action()}
        out["actions"] = [o.to_json() for o in self.outcomes]
        if self.budget_message:
            out["budget"] = {"message": self.budget_message, "hint": self.budget_hint}
        if self.job_states:
            out["jobStates"] = dict(sorted(self.job_states.items()))
        if self.still_running:
            out["stillRunning"] = list(self.still_running)
        out["interrupted"] = self.interrupted
        return out

    def error(self, command: str = "apply") -> ApplyError | None:
        """The ApplyError to raise (exit code 1), or None when all went well."""
        if self.ok:
            return None
        parts = []
        counts = self.counts()
        for status in (OutcomeStatus.FAILED, OutcomeStatus.UNKNOWN):
            if counts[status.value]:
                parts.append(f"{counts[status.value]} {status.value}")
        if counts["skipped"]:
            parts.append(f"{counts['skipped']} skipped")
        if counts["held"]:
            parts.append(f"{counts['held']} held by the budget")
        if self.failed_jobs:
            parts.append(f"{len(self.failed_jobs)} job(s) ended failed or cancelled")
        lines = [f"{command} finished with problems: {', '.join(parts)}"]
        for outcome in self.outcomes:
            if outcome.status in (OutcomeStatus.DONE, OutcomeStatus.WAITING):
                continue
            lines.append(
                f"  {outcome.address}: {outcome.action} {outcome.status.value}: {_reason(outcome)}"
            )
            lines.extend(f"    settle with: {command}" for command in outcome.commands)
        for address in self.failed_jobs:
            lines.append(f"  {address}: job {self.job_states[address]}")
        lines.extend(f"  {o.address}: {o.message}" for o in self.with_status(OutcomeStatus.WAITING))
        hint = self.budget_hint or (
            "fix what is named above and run 'rmapply apply' again: what succeeded is recorded "
            "in the state and is not repeated"
        )
        if self.failed_jobs:
            first = self.failed_jobs[0]
            hint += (
                "; a job that ended failed or cancelled is not run again by 'rmapply apply'"
                " unless its manifest sets retryFailed = true, or you ask for it once with"
                f" 'rmapply apply --replace {first}'"
            )
        if any(o.status is OutcomeStatus.UNKNOWN for o in self.outcomes):
            hint = (
                "settle each request of unknown outcome with one of the commands shown (every "
                "'rmapply plan' shows them too), then run 'rmapply apply' again; see "
                "docs/apply.md, 'Unknown outcomes'"
            )
        return ApplyError("\n".join(lines), summary=self.to_json(), hint=hint)


def _reason(outcome: ActionOutcome) -> str:
    text = outcome.message
    if outcome.code and outcome.code not in text:
        text = f"{text} [{outcome.code}]" if text else f"[{outcome.code}]"
    if outcome.api_message and outcome.api_message not in text:
        text = f"{text}: {outcome.api_message}"
    return text
