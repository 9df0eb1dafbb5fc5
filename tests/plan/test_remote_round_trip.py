"""A refreshed job the list page holds exactly as the state recorded it is observed as that record
(no dump of its model): sound because a wire dump read again dumps the same, which is shown here
for generated jobs, through the JSON a state file and a page carry."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic_core import from_json

from rmapply.plan import RemoteView
from rmapply.plan.remote import Observation, Sighting, observe
from rmapply.wire import Job, JobState, JobType, Location, OutputFormat, Quality
from tests.factories import make_job, make_job_spec, make_record

_text = st.text(max_size=12)
_number = st.floats(allow_nan=False, allow_infinity=False, width=64) | st.integers(-5, 10**6)
_plain = st.none() | st.booleans() | _number | _text


def _stamp(draw: st.DrawFn) -> str:
    moment = draw(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)))
    offset = draw(st.sampled_from([UTC, timezone(timedelta(hours=2)), None]))
    text = moment.replace(tzinfo=offset).isoformat()
    return text.replace("+00:00", "Z") if draw(st.booleans()) else text


def _optional(draw: st.DrawFn, out: dict[str, Any], key: str, value: Any) -> None:
    if draw(st.booleans()):
        out[key] = value


@st.composite
def _messages(draw: st.DrawFn) -> list[dict[str, Any]]:
    found = []
    for _ in range(draw(st.integers(0, 2))):
        item: dict[str, Any] = {}
        for key in ("code", "title", "message"):
            _optional(draw, item, key, draw(st.none() | _text))
        _optional(draw, item, "params", draw(st.none() | st.lists(_plain, max_size=3)))
        found.append(item)
    return found


@st.composite
def wire_jobs(draw: st.DrawFn) -> dict[str, Any]:
    """A job as a service may answer it: optional fields present, null or absent."""
    job: dict[str, Any] = {
        "id": draw(_text),
        "name": draw(_text),
        "type": draw(st.sampled_from([t.value for t in JobType])),
        "state": draw(st.sampled_from([s.value for s in JobState])),
        "createdDateTime": _stamp(draw),
        "lastModifiedDateTime": _stamp(draw),
        "location": draw(st.sampled_from([loc.value for loc in Location])),
        "workspaceId": draw(_text),
        "email": draw(_text),
        "inputs": [
            {"id": draw(_text), **({"description": draw(_text)} if draw(st.booleans()) else {})}
            for _ in range(draw(st.integers(0, 3)))
        ],
    }
    _optional(draw, job, "iTwinId", draw(st.none() | _text))
    if draw(st.booleans()):
        info: dict[str, Any] = {"submittedDateTime": _stamp(draw)}
        for key in ("startedDateTime", "endedDateTime"):
            _optional(draw, info, key, _stamp(draw))
        _optional(draw, info, "estimatedUnits", draw(st.none() | _number))
        _optional(draw, info, "errors", draw(_messages()))
        _optional(draw, info, "warnings", draw(st.none() | _messages()))
        job["executionInformation"] = info
    settings_: dict[str, Any] = {}
    _optional(draw, settings_, "quality", draw(st.sampled_from([q.value for q in Quality])))
    _optional(draw, settings_, "processingEngines", draw(st.none() | st.integers(0, 64)))
    formats = st.sampled_from([f.value for f in OutputFormat])
    outputs = st.lists(
        st.fixed_dictionaries({"format": formats}, optional={"id": st.none() | _text}),
        max_size=3,
    )
    _optional(draw, settings_, "outputs", draw(outputs))
    cache = st.fixed_dictionaries(
        {}, optional={"createCache": st.none() | st.booleans(), "useCache": st.none() | _text}
    )
    _optional(draw, settings_, "cacheSettings", draw(cache))
    job["jobSettings"] = settings_
    params = st.fixed_dictionaries(
        {},
        optional={
            "gigaPixels": _number,
            "megaPoints": st.none() | _number,
            "meshQuality": st.sampled_from([q.value for q in Quality]),
        },
    )
    _optional(draw, job, "costEstimationParameters", draw(params))
    _optional(draw, job, "estimatedCost", draw(st.none() | _number))
    return job


def _json(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


@settings(max_examples=300, deadline=None)
@given(wire_jobs())
def test_a_wire_dump_read_again_dumps_the_same(answer: dict[str, Any]) -> None:
    # what the state records: a dump, written to and read from a JSON file
    recorded = json.loads(_json(Job.from_answer(answer).to_wire()))
    again = Job.from_answer(recorded).to_wire()
    assert again == recorded
    assert _json(again) == _json(recorded)  # same keys, order and types


@settings(max_examples=300, deadline=None)
@given(wire_jobs())
def test_a_listed_job_equal_to_its_record_is_observed_as_its_dump(answer: dict[str, Any]) -> None:
    recorded = json.loads(_json(Job.from_answer(answer).to_wire()))
    # the page as the service sends it, read as the client reads it
    item = from_json(_json({"jobs": [recorded]}).encode())["jobs"][0]
    job = Job.model_validate_json(_json(item))
    record = make_record("jobs.a", job.id, make_job_spec()).model_copy(update={"remote": recorded})
    view = RemoteView(jobs={job.id: job}, listed={job.id: item})
    seen = observe(record, view)
    assert seen.current is recorded
    assert _json(seen.current) == _json(job.to_wire())


def test_a_listed_job_that_moved_is_dumped() -> None:
    spec = make_job_spec()
    job = make_job("job-a", spec, state="active")
    record = make_record("jobs.a", "job-a", spec)
    recorded = record.remote
    item = json.loads(_json(job.to_wire()))
    assert item != recorded
    seen = observe(record, RemoteView(jobs={"job-a": job}, listed={"job-a": item}))
    assert seen == Observation(Sighting.REFRESHED, job.to_wire())
    # not listed (a GET found it): dumped too
    seen = observe(record, RemoteView(jobs={"job-a": make_job("job-a", spec)}))
    assert seen.current == recorded
    assert seen.current is not recorded
