"""GET /jobs: scope, $filter, $top, continuation tokens and the errors of a bad query."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from rmapply.emulator import Emulator
from rmapply.wire import Job
from tests.emulator.conftest import Api, new_id


def _list(api: Api, **params: Any) -> dict[str, Any]:
    answer = api.get("/jobs", params=params)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def _names(page: dict[str, Any]) -> list[str]:
    return [j["name"] for j in page["jobs"]]


def _all_pages(api: Api, **params: Any) -> list[str]:
    names: list[str] = []
    page = _list(api, **params)
    while True:
        names += _names(page)
        nxt = page["_links"].get("next")
        if nxt is None:
            return names
        assert nxt["href"].startswith(api.base + "/jobs?")
        answer = api.session.get(nxt["href"], timeout=10)
        assert answer.status_code == 200, answer.text
        page = answer.json()


@pytest.fixture
def jobs(frozen: Emulator, frozen_api: Api, itwin_id: str) -> dict[str, dict[str, Any]]:
    """Four jobs of the test user in ``itwin_id`` (a, b submitted; b done), one elsewhere."""
    api = frozen_api
    workspace_id = api.workspace(itwin_id)
    made = {}
    for name in ("a", "b", "c", "d"):
        made[name] = api.create_job(workspace_id, name=name)
        frozen.advance(1)
    api.submit(made["a"]["id"])
    api.submit(made["b"]["id"])
    frozen.fail_job(made["a"]["id"], "boom")
    made["x"] = api.create_job(api.workspace(new_id()), name="x", type="Calibration")
    return made


def test_without_itwin_in_the_filter_the_callers_jobs_are_listed(
    frozen: Emulator, frozen_api: Api, jobs: dict[str, Any], itwin_id: str
) -> None:
    other = Api(frozen, "someone-else")
    other.create_job(other.workspace(itwin_id), name="theirs")
    assert _names(_list(frozen_api, **{"$filter": "type eq 'Full'"})) == ["a", "b", "c", "d"]
    assert _names(_list(frozen_api)) == ["a", "b", "c", "d", "x"]
    assert _names(_list(other)) == ["theirs"]
    everyone = _list(other, **{"$filter": f"iTwinId eq {itwin_id}"})
    assert _names(everyone) == ["a", "b", "c", "d", "theirs"]
    other.close()


def test_the_state_filter_sees_the_clock_derived_state(
    frozen: Emulator, frozen_api: Api, jobs: dict[str, Any], itwin_id: str
) -> None:
    api = frozen_api
    assert _names(_list(api, **{"$filter": "state eq 'active'"})) == ["a", "b"]
    frozen.advance(3600)
    assert _names(_list(api, **{"$filter": "state eq 'active'"})) == []
    assert _names(_list(api, **{"$filter": "state eq 'success'"})) == ["b"]
    assert _names(_list(api, **{"$filter": "state eq 'failed'"})) == ["a"]
    assert _names(_list(api, **{"$filter": "state in ('unsubmitted', 'failed')"})) == [
        "a",
        "c",
        "d",
        "x",
    ]


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("id eq {a}", ["a"]),
        ("id ne {a} and iTwinId eq {itwin}", ["b", "c", "d"]),
        ("name eq 'b' or name eq 'c'", ["b", "c"]),
        ("(name eq 'b' or name eq 'c') and state eq 'active'", ["b"]),
        ("name eq 'b' or name eq 'c' and state eq 'active'", ["b"]),
        ("name ge 'c'", ["c", "d", "x"]),
        ("name lt 'b'", ["a"]),
        ("type eq 'calibration'", ["x"]),
        ("inputId eq 58E0C0CA-F730-4E5B-808D-1C8CACACB4D4 and name le 'b'", ["a", "b"]),
        ("inputId in ('{nobody}', dc65ce7d-2598-422f-97a5-5ae8eb004b67) and name eq 'd'", ["d"]),
        ("outputId eq {a_output}", ["a"]),
        ("outputId ne {a_output}", ["b", "c", "d", "x"]),
        ("createdDateTime ge {c_created}", ["c", "d", "x"]),
        ("createdDateTime lt {c_created} and iTwinId eq {itwin}", ["a", "b"]),
        ("email eq '{email}' and name eq 'a'", ["a"]),
        ("NAME EQ 'a' OR Name eq 'd'", ["a", "d"]),
        ("name eq 'it''s'", []),
    ],
)
def test_filters_select_the_documented_properties(
    frozen_api: Api, jobs: dict[str, Any], itwin_id: str, template: str, expected: list[str]
) -> None:
    text = template.format(
        a=jobs["a"]["id"],
        itwin=itwin_id,
        nobody=new_id(),
        a_output=jobs["a"]["jobSettings"]["outputs"][0]["id"],
        c_created=jobs["c"]["createdDateTime"],
        email=jobs["a"]["email"],
    )
    assert _names(_list(frozen_api, **{"$filter": text})) == expected


def test_top_and_continuation_walk_every_page_once(
    frozen_api: Api, jobs: dict[str, Any], itwin_id: str
) -> None:
    first = _list(frozen_api, **{"$filter": f"iTwinId eq {itwin_id}", "$top": 3})
    assert _names(first) == ["a", "b", "c"]
    href = first["_links"]["next"]["href"]
    query = parse_qs(urlsplit(href).query)
    assert query["$filter"] == [f"iTwinId eq {itwin_id}"]
    assert query["$top"] == ["3"]
    assert _all_pages(frozen_api, **{"$filter": f"iTwinId eq {itwin_id}", "$top": 1}) == [
        "a",
        "b",
        "c",
        "d",
    ]
    last = _list(frozen_api, **{"$top": 5})
    assert _names(last) == ["a", "b", "c", "d", "x"]
    assert "next" not in last["_links"]


def test_the_default_page_is_100_jobs(frozen: Emulator, frozen_api: Api, itwin_id: str) -> None:
    workspace_id = frozen_api.workspace(itwin_id)
    for i in range(101):
        frozen_api.create_job(workspace_id, name=f"j{i:03}")
    page = _list(frozen_api)
    assert len(page["jobs"]) == 100
    assert "next" in page["_links"]
    assert len(_all_pages(frozen_api)) == 101


@pytest.mark.parametrize("top", ["0", "-1", "1001", "ten", ""])
def test_a_bad_top_is_refused_with_the_documented_error(api: Api, top: str) -> None:
    answer = api.get("/jobs", params={"$top": top})
    assert answer.status_code == 422
    assert answer.json() == {
        "error": {
            "code": "InvalidRealityModelingRequest",
            "message": "Cannot find jobs.",
            "details": [
                {
                    "code": "InvalidParameter",
                    "message": "The $top query parameter value must be a positive integer "
                    "that does not exceed 1000.",
                    "target": "$Top",
                }
            ],
        }
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "state eq active",
            "unexpected 'active' at position 10; string values are quoted: 'active'",
        ),
        ("colour eq 'red'", "unexpected 'colour' at position 1; expected a property"),
        ("name has 'a'", "unexpected 'has' at position 6 after 'name'; expected one of"),
        ("(name eq 'a'", "unexpected end of filter; expected ')'"),
        ("name eq 'a", "unterminated string starting at position 9"),
        ("createdDateTime gt 'yesterday'", "'yesterday' is not a date-time (at position 20)"),
        ("name eq 2024-01-01T00:00:00Z", "'name' cannot be compared with a date-time"),
        ("name eq 'a' name eq 'b'", "unexpected 'name' at position 13; expected 'and', 'or'"),
    ],
)
def test_a_bad_filter_is_refused_with_a_clear_detail(api: Api, text: str, message: str) -> None:
    answer = api.get("/jobs", params={"$filter": text})
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert error["code"] == "InvalidRealityModelingRequest"
    assert error["message"] == "Cannot find jobs."
    [detail] = error["details"]
    assert detail["code"] == "InvalidParameter"
    assert detail["target"] == "$filter"
    assert detail["message"].startswith(f"Invalid $filter: {message}")


def test_a_forged_or_foreign_continuation_token_is_refused(
    frozen_api: Api, jobs: dict[str, Any], itwin_id: str
) -> None:
    first = _list(frozen_api, **{"$top": 1})
    token = parse_qs(urlsplit(first["_links"]["next"]["href"]).query)["continuationToken"][0]
    for params in (
        {"continuationToken": "garbage!"},
        {"continuationToken": token, "$filter": "name eq 'a'"},
    ):
        answer = frozen_api.get("/jobs", params=params)
        assert answer.status_code == 422
        assert answer.json()["error"]["details"][0]["target"] == "continuationToken"


def test_a_listed_job_reads_exactly_as_its_own_get(
    frozen: Emulator, frozen_api: Api, jobs: dict[str, Any]
) -> None:
    api = frozen_api
    cancelled = api.create_job(api.workspace(new_id()), name="cancelled")
    api.submit(cancelled["id"])
    api.patch(f"/jobs/{cancelled['id']}", json={"state": "cancelled"})
    for moment in (0, 90, 3600):  # unsubmitted, running, ended: success, failed, cancelled
        frozen.advance(moment)
        listed = _list(api)["jobs"]
        assert [job["name"] for job in listed] == ["a", "b", "c", "d", "x", "cancelled"]
        for job in listed:
            assert job == api.job(job["id"])
            assert job == Job.model_validate(job).to_wire()  # the form the model would write
