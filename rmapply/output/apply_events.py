"""Apply progress as text: human lines, a live board of progress bars, or one JSON per event.

Everything here returns strings; the CLI decides where they go (and redraws the board on a
terminal). Times come from the events themselves, so the output is a pure function of them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from rmapply.apply.events import (
    ActionFailed,
    ActionFinished,
    ActionSkipped,
    ActionStarted,
    ActionWaiting,
    ApplyEvent,
    ApplyFinished,
    BudgetHeld,
    JobSettled,
    OutcomeResolved,
    ProgressReported,
    RateLimitWait,
    WaitStopped,
)
from rmapply.apply.summary import RECREATED_NOTE, ApplySummary, OutcomeStatus
from rmapply.output.dialect import versioned
from rmapply.wire import JobState

# plain (non-terminal) progress lines: one per job when it moves 10 points, or once a minute
PROGRESS_STEP = 10.0
PROGRESS_EVERY = timedelta(seconds=60)
BOARD_ROWS = 10

_VERBS = {
    "create": ("creating", "created"),
    "submit": ("submitting", "submitted"),
    "update": ("updating", "updated"),
    "replace": ("replacing", "replaced"),
    "delete": ("deleting", "deleted"),
    "forget": ("forgetting", "forgotten"),
    "cancel": ("cancelling", "cancelled"),
    "adopt": ("adopting", "adopted"),
}


def json_line(event: ApplyEvent) -> str:
    """The ``--format json`` form: one compact JSON object, no newline."""
    return json.dumps(versioned(event.to_json()), separators=(",", ":"), sort_keys=False)


def _verb(action: str, done: bool) -> str:
    doing, did = _VERBS.get(action, (action, action))
    return did if done else doing


def _short(remote_id: str | None) -> str:
    return remote_id or "-"


@dataclass
class EventLines:
    """Turns events into human lines; remembers enough to keep periodic lines periodic."""

    show_progress: bool = True
    _last_progress: dict[str, tuple[float, datetime]] = field(default_factory=dict)

    def lines(self, event: ApplyEvent) -> list[str]:
        """Zero or more lines for ``event``."""
        if isinstance(event, ActionStarted):
            return [f"{event.address}: {_verb(event.action, False)}..."]
        if isinstance(event, ActionFinished):
            return [self._finished(event)]
        if isinstance(event, ActionFailed):
            return [_failed(event)]
        if isinstance(event, ActionSkipped):
            return [f"{event.address}: {event.action} skipped: {event.reason}"]
        if isinstance(event, ActionWaiting):
            return [f"{event.address}: {event.action} not sent yet: {event.message}"]
        if isinstance(event, OutcomeResolved):
            text = f"{event.address}: unknown outcome of {event.action}: {event.outcome}"
            lines = [f"{text} ({event.message})" if event.message else text]
            return lines + [f"  settle with: {command}" for command in event.commands]
        if isinstance(event, BudgetHeld):
            return [f"Budget: {event.message}"]
        if isinstance(event, ProgressReported):
            return self._progress(event)
        if isinstance(event, JobSettled):
            return _settled(event)
        if isinstance(event, RateLimitWait):
            return self._rate_limited(event)
        if isinstance(event, WaitStopped):
            return [
                f"Stopped waiting ({event.reason}); {len(event.addresses)} job(s) keep running "
                "on the service: run 'rmapply wait' to re-attach, 'rmapply status' to look"
            ]
        if isinstance(event, ApplyFinished):
            return []
        return []

    def _finished(self, event: ActionFinished) -> str:
        text = f"{event.address}: {_verb(event.action, True)} [id={_short(event.remote_id)}]"
        extra = []
        if event.job_state:
            extra.append(f"state {event.job_state}")
        # the cost and the output ids are news when a job is made, not when it is submitted
        made = event.action in ("create", "replace", "update")
        if made and event.estimated_cost is not None:
            extra.append(f"estimated cost {event.estimated_cost:g}")
        if made and event.outputs:
            extra.append("outputs " + ", ".join(f"{k}={v}" for k, v in event.outputs.items()))
        if event.note:
            extra.append(event.note)
        return f"{text} {'; '.join(extra)}" if extra else text

    def _progress(self, event: ProgressReported) -> list[str]:
        if not self.show_progress:
            return []
        last = self._last_progress.get(event.address)
        if last is not None:
            moved = abs(event.percentage - last[0]) >= PROGRESS_STEP
            if not moved and event.at - last[1] < PROGRESS_EVERY:
                return []
        self._last_progress[event.address] = (event.percentage, event.at)
        step = f" ({event.step})" if event.step else ""
        return [f"{event.address}: {event.percentage:.0f}% {event.state}{step}"]

    def _rate_limited(self, event: RateLimitWait) -> list[str]:
        # the client reports each pause once, however many workers got a 429 meanwhile
        why = f" ({event.message})" if event.message else ""
        line = f"Rate limited by the service{why}: pausing {_seconds(event.seconds)}"
        if event.requests_per_second is not None:
            line += f", then pacing at {_pace(event.requests_per_second)} requests/s"
        return [line]


def _seconds(seconds: float) -> str:
    """``4 s``, ``1.5 s``, ``0.05 s``: a pause, whole seconds when it is whole."""
    return f"{seconds:.2f}".rstrip("0").rstrip(".") + " s"


def _pace(rate: float) -> str:
    """``1.9``, ``12``, ``0.25``: two significant digits below 10, whole numbers above."""
    return f"{rate:.0f}" if rate >= 10 else f"{rate:.2g}"


def _failed(event: ActionFailed) -> str:
    ended = "outcome unknown" if event.outcome_unknown else "failed"
    text = f"{event.address}: {event.action} {ended}: {event.message}"
    if event.code and event.code not in text:
        text += f" [{event.code}]"
    if event.api_message and event.api_message not in text:
        text += f": {event.api_message}"
    return text


def _settled(event: JobSettled) -> list[str]:
    lines = [f"{event.address}: job {event.state} [id={event.job_id}]"]
    lines += [f"{event.address}:   error: {e}" for e in event.errors]
    lines += [f"{event.address}:   warning: {w}" for w in event.warnings]
    return lines


def bar(percentage: float, width: int = 24) -> str:
    """``[#########---------------]`` for a percentage (clamped to 0..100)."""
    filled = round(max(0.0, min(100.0, percentage)) / 100 * width)
    return "[" + "#" * filled + "-" * (width - filled) + "]"


@dataclass
class ProgressBoard:
    """The live block of progress bars shown on a terminal while jobs are waited for."""

    rows: int = BOARD_ROWS
    _jobs: dict[str, tuple[float, str, str]] = field(default_factory=dict)

    def update(self, event: ApplyEvent) -> bool:
        """Take in an event; True when the board changed."""
        if isinstance(event, ProgressReported):
            self._jobs[event.address] = (event.percentage, event.state, event.step)
            return True
        if isinstance(event, JobSettled | ActionFailed) and event.address in self._jobs:
            del self._jobs[event.address]
            return True
        if isinstance(event, WaitStopped):
            self._jobs.clear()
            return True
        return False

    def frame(self, width: int = 80) -> list[str]:
        """The board's lines (empty when no job is being waited for)."""
        if not self._jobs:
            return []
        name_width = min(max(len(a) for a in self._jobs), max(10, width // 3))
        lines = []
        shown = sorted(self._jobs.items())[: self.rows]
        for address, (pct, state, step) in shown:
            line = f"{address[:name_width]:<{name_width}} {bar(pct)} {pct:3.0f}% {state} {step}"
            lines.append(line[:width].rstrip())
        hidden = len(self._jobs) - len(shown)
        if hidden > 0:
            mean = sum(p for p, _, _ in self._jobs.values()) / len(self._jobs)
            lines.append(f"... and {hidden} more job(s); {mean:.0f}% on average")
        return lines


def wait_lines(summary: ApplySummary) -> list[str]:
    """The closing lines of ``rmapply wait``: how the waited-for jobs ended."""
    states: dict[str, int] = {}
    for state in summary.job_states.values():
        states[state] = states.get(state, 0) + 1
    ended = ", ".join(f"{n} {s}" for s, n in sorted(states.items())) or "none settled"
    lines = [f"Waited for {len(summary.job_states) + len(summary.still_running)} job(s): {ended}."]
    lines += [
        f"  job {state}: {a}"
        for a, state in sorted(summary.job_states.items())
        if state != JobState.SUCCESS
    ]
    if summary.still_running:
        lines.append(
            f"  still running: {', '.join(summary.still_running)} (run 'rmapply wait' to re-attach)"
        )
    return lines


# the plan's words, done: "Plan: 3 to create, ..." is answered by "3 created, ..."
_DONE_WORDS = {
    "create": "created",
    "update": "updated",
    "replace": "replaced",
    "delete": "deleted",
    "submit": "submitted",
    "cancel": "cancelled",
    "forget": "forgotten",
    "record": "recorded",
}
_ALWAYS = ("create", "update", "replace", "delete")


def done_line(summary: ApplySummary) -> str:
    """``3 created, 0 updated, 0 replaced, 0 deleted; 2 submitted``: what was done, counted
    per resource and step as the plan's summary line counts them."""
    done = summary.done_by_action()
    main = ", ".join(f"{done.get(a, 0)} {_DONE_WORDS[a]}" for a in _ALWAYS)
    extra = ", ".join(
        f"{n} {_DONE_WORDS.get(a, a)}" for a, n in sorted(done.items()) if a not in _ALWAYS
    )
    return main + (f"; {extra}" if extra else "")


def summary_lines(summary: ApplySummary) -> list[str]:
    """The closing summary: counts, then every failure, skip, hold and unknown with why."""
    counts = summary.counts()
    head = (
        f"Apply {'complete' if summary.ok else 'finished with problems'}: "
        f"{done_line(summary)}; {counts['failed']} failed, {counts['skipped']} skipped"
    )
    if counts["held"]:
        head += f", {counts['held']} held by the budget"
    if counts["unknown"]:
        head += f", {counts['unknown']} unknown"
    if counts["waiting"]:
        head += f", {counts['waiting']} waiting"
    lines = [head + "."]
    for status in (OutcomeStatus.FAILED, OutcomeStatus.UNKNOWN, OutcomeStatus.HELD):
        for o in summary.with_status(status):
            code = f" [{o.code}]" if o.code else ""
            api = f": {o.api_message}" if o.api_message and o.api_message not in o.message else ""
            lines.append(f"  {status.value}: {o.address} ({o.action}){code} {o.message}{api}")
            lines.extend(f"    settle with: {command}" for command in o.commands)
    for o in summary.with_status(OutcomeStatus.SKIPPED):
        lines.append(f"  skipped: {o.address} ({o.action}): {o.message}")
    # a waiting submit is no problem: the next apply (or --wait) carries the chain on
    lines.extend(f"  {o.address}: {o.message}" for o in summary.with_status(OutcomeStatus.WAITING))
    for o in summary.with_status(OutcomeStatus.DONE):
        if o.message.startswith(RECREATED_NOTE):  # a workspace that may exist unused
            lines.append(f"  {o.address}: {o.message}")
    if summary.budget_message:
        lines.append(f"  budget: {summary.budget_message}")
    for address, state in sorted(summary.job_states.items()):
        lines.append(f"  job {state}: {address}")
    if summary.still_running:
        lines.append(
            f"  still running: {', '.join(summary.still_running)} (run 'rmapply wait' to re-attach)"
        )
    return lines
