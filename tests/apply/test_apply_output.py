"""Apply progress as text and JSON lines (pure: events in, strings out)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

from rmapply.apply.events import (
    ActionFailed,
    ActionFinished,
    ActionSkipped,
    ActionStarted,
    BudgetHeld,
    JobSettled,
    OutcomeResolved,
    ProgressReported,
    RateLimitWait,
    WaitStopped,
)
from rmapply.apply.summary import ActionOutcome, ApplySummary, OutcomeStatus
from rmapply.output.apply_events import EventLines, ProgressBoard, bar, json_line, summary_lines

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def test_json_lines_are_one_compact_object_per_event_with_camel_case_keys() -> None:
    line = json_line(
        ActionFinished(T0, "jobs.a", "create", "id-1", "unsubmitted", 2.5, {"OBJ": "o-1"})
    )
    assert "\n" not in line
    assert json.loads(line) == {
        "formatVersion": 1,
        "event": "action_finished",
        "at": "2026-05-01T12:00:00Z",
        "address": "jobs.a",
        "action": "create",
        "remoteId": "id-1",
        "jobState": "unsubmitted",
        "estimatedCost": 2.5,
        "outputs": {"OBJ": "o-1"},
        "note": "",
    }
    failed = json.loads(
        json_line(
            ActionFailed(
                T0, "jobs.b", "create", "422 ...", code="InvalidContextCaptureRequest", status=422
            )
        )
    )
    assert failed["event"] == "action_failed"
    assert failed["code"] == "InvalidContextCaptureRequest"
    assert failed["outcomeUnknown"] is False


def test_human_lines_name_the_address_the_action_the_id_and_the_api_code() -> None:
    lines = EventLines()
    assert lines.lines(ActionStarted(T0, "jobs.a", "create")) == ["jobs.a: creating..."]
    assert lines.lines(
        ActionFinished(T0, "jobs.a", "create", "id-1", "unsubmitted", 2.5, {"OBJ": "o-1"})
    ) == ["jobs.a: created [id=id-1] state unsubmitted; estimated cost 2.5; outputs OBJ=o-1"]
    assert lines.lines(
        ActionFailed(
            T0,
            "jobs.b",
            "create",
            "POST /jobs: 422 refused",
            code="InvalidContextCaptureRequest",
            api_message="Cannot create job.",
        )
    ) == [
        "jobs.b: create failed: POST /jobs: 422 refused [InvalidContextCaptureRequest]: "
        "Cannot create job."
    ]
    assert lines.lines(ActionSkipped(T0, "jobs.c", "create", "depends on jobs.b")) == [
        "jobs.c: create skipped: depends on jobs.b"
    ]
    assert lines.lines(BudgetHeld(T0, ("jobs.a",), 9.0, 5.0, message="over")) == ["Budget: over"]


def test_plain_progress_lines_are_periodic_not_one_per_poll() -> None:
    lines = EventLines()

    def at(seconds: float, pct: float) -> list[str]:
        return lines.lines(
            ProgressReported(
                T0 + timedelta(seconds=seconds), "jobs.a", "j", pct, "Active", "Reconstruction"
            )
        )

    assert at(0, 0) == ["jobs.a: 0% Active (Reconstruction)"]
    assert at(15, 4) == []  # moved less than 10 points, less than a minute later
    assert at(30, 12) == ["jobs.a: 12% Active (Reconstruction)"]
    assert at(100, 13) == ["jobs.a: 13% Active (Reconstruction)"]  # a minute passed


def test_each_rate_limit_pause_is_one_line_with_its_length_and_the_new_pace() -> None:
    lines = EventLines()
    assert lines.lines(RateLimitWait(T0, 4.0, "429 on POST /jobs", 1.94)) == [
        "Rate limited by the service (429 on POST /jobs): pausing 4 s, then pacing at 1.9 "
        "requests/s"
    ]
    # the client reports one event per pause: each is a line, however short or close
    assert lines.lines(RateLimitWait(T0 + timedelta(seconds=1), 0.25, "", 12.4)) == [
        "Rate limited by the service: pausing 0.25 s, then pacing at 12 requests/s"
    ]
    assert lines.lines(RateLimitWait(T0, 1.0)) == ["Rate limited by the service: pausing 1 s"]


def test_a_rate_limit_pause_is_one_json_event_with_its_pace() -> None:
    event = RateLimitWait(T0, 4.0, "429 on POST /jobs", 1.94)
    assert json.loads(json_line(event)) == {
        "formatVersion": 1,
        "event": "rate_limit_wait",
        "at": "2026-05-01T12:00:00Z",
        "seconds": 4.0,
        "message": "429 on POST /jobs",
        "requestsPerSecond": 1.94,
    }


def test_settled_jobs_show_their_errors_and_stopping_says_how_to_re_attach() -> None:
    lines = EventLines()
    assert lines.lines(JobSettled(T0, "jobs.a", "j-1", "failed", ("E1: bad input",))) == [
        "jobs.a: job failed [id=j-1]",
        "jobs.a:   error: E1: bad input",
    ]
    (stopped,) = lines.lines(WaitStopped(T0, ("jobs.a", "jobs.b"), "interrupted"))
    assert "2 job(s) keep running" in stopped and "'rmapply wait'" in stopped


def test_progress_board_shows_a_bar_per_job_and_summarises_the_rest() -> None:
    board = ProgressBoard(rows=2)
    for i, pct in enumerate((10.0, 50.0, 90.0)):
        board.update(ProgressReported(T0, f"jobs.j{i}", f"id{i}", pct, "Active", "Step"))
    frame = board.frame(width=80)
    assert frame[0] == f"jobs.j0 {bar(10.0)}  10% Active Step"
    assert frame[1].startswith("jobs.j1 ")
    assert frame[2] == "... and 1 more job(s); 50% on average"
    board.update(JobSettled(T0, "jobs.j0", "id0", "success"))
    assert not any(line.startswith("jobs.j0") for line in board.frame())
    assert bar(50.0, width=10) == "[#####-----]"
    assert bar(150.0, width=4) == "[####]"


def test_summary_lists_failures_with_codes_then_skips_and_the_budget() -> None:
    summary = ApplySummary(
        outcomes=(
            ActionOutcome("jobs.a", "create", OutcomeStatus.DONE),
            ActionOutcome(
                "jobs.b",
                "create",
                OutcomeStatus.FAILED,
                "POST /jobs: 422",
                "InvalidContextCaptureRequest",
                "Cannot create job.",
            ),
            ActionOutcome("jobs.c", "create", OutcomeStatus.SKIPPED, "depends on jobs.b"),
        ),
    )
    assert summary_lines(summary) == [
        "Apply finished with problems: 1 created, 0 updated, 0 replaced, 0 deleted; 1 failed,"
        " 1 skipped.",
        "  failed: jobs.b (create) [InvalidContextCaptureRequest] POST /jobs: 422: "
        "Cannot create job.",
        "  skipped: jobs.c (create): depends on jobs.b",
    ]
    ok = ApplySummary(
        outcomes=(
            ActionOutcome("jobs.a", "create", OutcomeStatus.DONE),
            ActionOutcome("jobs.a", "submit", OutcomeStatus.DONE),
            ActionOutcome("jobs.b", "replace", OutcomeStatus.DONE),
            ActionOutcome("jobs.b", "submit", OutcomeStatus.DONE),
            ActionOutcome("jobs.b", "cancel", OutcomeStatus.DONE),
        )
    )
    assert summary_lines(ok) == [
        "Apply complete: 1 created, 0 updated, 1 replaced, 0 deleted; 1 cancelled, 2 submitted;"
        " 0 failed, 0 skipped."
    ]
    assert ok.error() is None


def _documented_events() -> dict[str, set[str]]:
    """The ``--json`` table of docs/apply.md: event name -> documented fields."""
    from pathlib import Path

    text = (Path(__file__).parents[2] / "docs" / "apply.md").read_text(encoding="utf-8")
    section = text.split("## `--json`", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 2 and cells[0].startswith("`"):
            # the field names in backticks, leaving out notes in parentheses
            rows[cells[0].strip("`")] = set(
                re.findall(r"`([^`]+)`", re.sub(r"\(.*?\)", "", cells[1]))
            )
    return rows


def test_every_json_event_is_documented_with_exactly_its_fields() -> None:
    import dataclasses

    from rmapply.apply import events

    kinds = {
        cls.kind: cls
        for cls in vars(events).values()
        if isinstance(cls, type) and issubclass(cls, events.ApplyEvent)
        if cls is not events.ApplyEvent
    }
    documented = _documented_events()
    assert set(kinds) <= set(documented), set(kinds) - set(documented)
    for kind, cls in kinds.items():
        names = {f.name for f in dataclasses.fields(cls)} - {"at"}
        fields = {"".join([n.split("_")[0], *(p.title() for p in n.split("_")[1:])]) for n in names}
        assert documented[kind] == fields, kind
    summary = ApplySummary(
        outcomes=(ActionOutcome("jobs.a", "create", OutcomeStatus.DONE),),
        budget_message="over",
        job_states={"jobs.a": "success"},
        still_running=("jobs.b",),
    )
    assert documented["summary"] == set(summary.to_json())


def test_an_unresolved_lost_request_is_shown_with_the_commands_that_settle_it() -> None:
    lines = EventLines()
    commands = ("rmapply import jobs.a J1", "rmapply state forget-intent jobs.a")
    assert lines.lines(
        OutcomeResolved(T0, "jobs.a", "create", "unresolved", None, "2 jobs match", commands)
    ) == [
        "jobs.a: unknown outcome of create: unresolved (2 jobs match)",
        "  settle with: rmapply import jobs.a J1",
        "  settle with: rmapply state forget-intent jobs.a",
    ]
    assert lines.lines(
        ActionFailed(T0, "jobs.a", "create", "POST /jobs: no answer", outcome_unknown=True)
    ) == ["jobs.a: create outcome unknown: POST /jobs: no answer"]
    summary = ApplySummary(
        outcomes=(
            ActionOutcome(
                "jobs.a",
                "create",
                OutcomeStatus.UNKNOWN,
                "POST /jobs: no answer",
                commands=commands,
            ),
        )
    )
    assert summary_lines(summary)[1:] == [
        "  unknown: jobs.a (create) POST /jobs: no answer",
        "    settle with: rmapply import jobs.a J1",
        "    settle with: rmapply state forget-intent jobs.a",
    ]
    error = summary.error()
    assert error is not None
    assert error.message.splitlines()[1:] == [
        "  jobs.a: create unknown: POST /jobs: no answer",
        "    settle with: rmapply import jobs.a J1",
        "    settle with: rmapply state forget-intent jobs.a",
    ]
    assert error.summary["actions"][0]["commands"] == list(commands)


def test_every_json_event_has_a_schema_with_exactly_its_fields() -> None:
    import dataclasses

    from rmapply.apply import events
    from rmapply.output.dialect import camel
    from tests.schemas import schema

    defs = schema("apply-events")["$defs"]
    for cls in vars(events).values():
        if isinstance(cls, type) and issubclass(cls, events.ApplyEvent):
            if cls is events.ApplyEvent:
                continue
            fields = {camel(f.name) for f in dataclasses.fields(cls)}
            assert set(defs[cls.kind]["properties"]) == fields | {"formatVersion", "event"}
    summary = ApplySummary(outcomes=(ActionOutcome("jobs.a", "create", OutcomeStatus.DONE),))
    assert set(summary.to_json()) <= set(defs["summary"]["properties"])
