"""Bad requests get the API's error shape, never a 500: the limits on bodies, queries and HTTP."""

from __future__ import annotations

import base64
import json
import logging
import socket
from typing import Any

import pytest
import requests

from rmapply.emulator import Emulator
from rmapply.emulator.backend import Backend
from rmapply.emulator.faults import Faults
from tests.emulator.answers import api_error
from tests.emulator.conftest import Api, job_body, new_id


def _detail(answer: Any, status: int = 422) -> dict[str, Any]:
    assert answer.status_code == status, answer.text[:300]
    error = api_error(answer)
    assert len(error["details"]) == 1, error
    detail: dict[str, Any] = error["details"][0]
    assert detail["code"] == "InvalidParameter"
    return detail


def _nested(depth: int) -> bytes:
    return b'{"name":' + b"[" * depth + b"]" * depth + b"}"


# bodies --------------------------------------------------------------------------------------
@pytest.mark.parametrize("depth", [33, 100_000])
def test_a_body_nested_deeper_than_32_levels_is_refused_naming_the_limit(
    api: Api, emulator: Emulator, depth: int
) -> None:
    answer = api.post("/workspaces", data=_nested(depth))
    detail = _detail(answer)
    assert detail["message"] == (
        f"The request body nests arrays and objects {depth + 1} levels deep; "
        "at most 32 are allowed."
    )
    assert answer.json()["error"]["message"] == "Cannot create workspace."
    assert emulator.internal_errors == []


def test_a_body_nested_32_levels_deep_is_read(api: Api) -> None:
    answer = api.post("/workspaces", data=_nested(31))
    assert _detail(answer) == {
        "code": "InvalidParameter",
        "message": "Invalid 'name' parameter.",
        "target": "name",
    }


def test_brackets_inside_strings_do_not_count_as_nesting(api: Api) -> None:
    answer = api.post("/workspaces", json={"name": "[{" * 1000})
    assert answer.status_code == 201, answer.text


@pytest.mark.parametrize(
    ("number", "shown"),
    [
        ("9" * 5000, "99999999999999999999... (5000 digits)"),
        ("-9007199254740992", "-9007199254740992"),
        ("9007199254740992", "9007199254740992"),
    ],
)
def test_an_integer_out_of_range_is_refused(
    api: Api, itwin_id: str, number: str, shown: str
) -> None:
    raw = json.dumps(job_body(api.workspace(itwin_id))).replace('"Full"', '"Full", "x": ' + number)
    answer = api.post("/jobs", data=raw.encode())
    assert _detail(answer)["message"] == (
        f"The request body holds the number {shown}, outside the range of integers "
        "(-9007199254740991 to 9007199254740991)."
    )


def test_the_largest_integer_is_read_and_judged_by_the_rules(api: Api, itwin_id: str) -> None:
    body = job_body(api.workspace(itwin_id))
    body["settings"]["processingEngines"] = 2**53 - 1
    detail = _detail(api.post("/jobs", json=body))
    assert detail["target"] == "settings.processingEngines"


def test_a_lone_surrogate_in_a_body_is_refused_with_its_place(api: Api, itwin_id: str) -> None:
    raw = json.dumps(job_body(api.workspace(itwin_id), name="a\ud800b"))  # ensure_ascii escapes
    assert "\\ud800" in raw
    assert _detail(api.post("/jobs", data=raw.encode())) == {
        "code": "InvalidParameter",
        "message": "The request body holds a lone surrogate (\\ud800) in a string; "
        "strings must be Unicode text.",
        "target": "name",
    }


def test_a_lone_surrogate_in_a_key_is_refused(api: Api) -> None:
    answer = api.post("/workspaces", data=b'{"name": "w", "\\udfff": 1}')
    assert _detail(answer)["target"] == "\\udfff"


def test_a_surrogate_pair_is_ordinary_text(api: Api) -> None:
    answer = api.post("/workspaces", data=b'{"name": "\\ud83d\\ude00"}')
    assert answer.status_code == 201, answer.text
    assert answer.json()["workspace"]["name"] == "\U0001f600"


def test_a_body_that_is_not_utf8_is_refused(api: Api) -> None:
    answer = api.post("/workspaces", data=b'{"name": "\xff"}')
    assert (
        _detail(answer)["message"]
        == "The request body is not UTF-8: invalid start byte at byte 10."
    )


@pytest.mark.parametrize("body", [b"[]", b"1", b'"x"', b"null", b"", b"true"])
def test_a_body_that_is_not_an_object_is_refused(api: Api, body: bytes) -> None:
    job_id = api.create_job(api.workspace(None))["id"]
    for answer in (api.post("/workspaces", data=body), api.patch(f"/jobs/{job_id}", data=body)):
        assert _detail(answer)["message"] == "The request body must be a JSON object."


def test_an_unknown_job_is_404_before_its_body_is_read(api: Api) -> None:
    answer = api.patch(f"/jobs/{new_id()}", data=b"[" * 1000)
    assert answer.status_code == 404
    assert api_error(answer)["code"] == "JobNotFound"


def test_schema_problems_and_rules_are_still_reported_together(api: Api) -> None:
    body = job_body(new_id(), type="Nope")
    body["settings"]["processingEngines"] = 99
    targets = {d["target"] for d in api_error(api.post("/jobs", json=body))["details"]}
    assert targets == {"type", "workspaceId", "settings.processingEngines"}


# the query of GET /jobs ---------------------------------------------------------------------
def _filter_problem(api: Api, text: str) -> str:
    detail = _detail(api.get("/jobs", params={"$filter": text}))
    assert detail["target"] == "$filter"
    message: str = detail["message"]
    return message


def test_a_filter_nested_deeper_than_32_parentheses_is_refused(api: Api) -> None:
    deep = "(" * 33 + "name eq 'a'" + ")" * 33
    assert _filter_problem(api, deep) == (
        "Invalid $filter: parentheses nested more than 32 deep at position 33."
    )
    ok = "(" * 32 + "name eq 'a'" + ")" * 32
    assert api.get("/jobs", params={"$filter": ok}).status_code == 200


def test_a_filter_with_more_than_100_comparisons_is_refused(api: Api) -> None:
    many = " or ".join(f"name eq 'n{i}'" for i in range(101))
    assert _filter_problem(api, many).startswith("Invalid $filter: more than 100 comparisons")
    enough = " or ".join(f"name eq 'n{i}'" for i in range(100))
    assert api.get("/jobs", params={"$filter": enough}).status_code == 200


def test_a_filter_with_more_than_1000_values_is_refused(api: Api) -> None:
    values = ",".join(f"'{i}'" for i in range(1001))
    assert _filter_problem(api, f"name in ({values})") == "Invalid $filter: more than 1000 values."


def test_a_filter_longer_than_8000_characters_is_refused(api: Api) -> None:
    long = f"name eq '{'x' * 8000}'"
    assert _filter_problem(api, long) == (
        "Invalid $filter: it is 8010 characters long; at most 8000 are allowed."
    )


def test_a_filter_of_thousands_of_terms_in_a_long_url_is_json(api: Api) -> None:
    huge = " and ".join("state eq 'Active'" for _ in range(5000))
    answer = api.get("/jobs", params={"$filter": huge})
    assert answer.status_code == 414
    assert api_error(answer) == {"code": "RequestUriTooLong", "message": "Request-URI Too Long."}


@pytest.mark.parametrize("top", ["١٢", " 12 ", "1_0", "+5", "12.0", "0x10", "9" * 5000, ""])
def test_top_accepts_only_ascii_digits(api: Api, top: str) -> None:
    detail = _detail(api.get("/jobs", params={"$top": top}))
    assert detail["target"] == "$Top"


def test_top_with_leading_zeros_is_a_number(api: Api) -> None:
    assert api.get("/jobs", params={"$top": "0012"}).status_code == 200


def test_a_huge_skip_is_ignored_as_the_api_has_none(api: Api) -> None:
    assert api.get("/jobs", params={"$skip": "9" * 5000}).status_code == 200


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    "token",
    [
        _b64(b'{"after": 1e999999, "scope": "x"}'),
        _b64(b'{"after": ' + b"9" * 5000 + b', "scope": "x"}'),
        _b64(b'{"after": 99999999999999999999, "scope": "x"}'),
        _b64(b'{"after": true, "scope": "x"}'),
        _b64(b'{"after": -1, "scope": "x"}'),
        _b64(b"[" * 5_000),
        _b64(b'"\\ud800"'),
        _b64(b"\xff\xfe"),
        _b64(b"[1, 2]"),
        "not base64!",
        "ü",
        "A" * 5000,
    ],
)
def test_a_garbage_continuation_token_is_refused(api: Api, emulator: Emulator, token: str) -> None:
    detail = _detail(api.get("/jobs", params={"continuationToken": token}))
    assert detail == {
        "code": "InvalidParameter",
        "message": "The continuationToken is not valid for this query; copy it from _links.next.",
        "target": "continuationToken",
    }
    assert emulator.internal_errors == []


@pytest.mark.parametrize("encoded", ["%ff", "%ED%A0%80", "%C3"])
def test_a_query_value_that_is_not_utf8_is_refused_naming_the_parameter(
    api: Api, encoded: str
) -> None:
    answer = api.session.get(f"{api.base}/jobs?$filter=name%20eq%20%27{encoded}%27", timeout=10)
    detail = _detail(answer)
    assert detail["target"] == "$filter"
    assert detail["message"].startswith("The value of $filter is not UTF-8 once percent-decoded")


@pytest.mark.parametrize("encoded", ["%ED%A0%80", "%ff", "%00", "%2F..%2F", "a%20b"])
def test_an_id_of_any_bytes_is_a_404(api: Api, encoded: str) -> None:
    for path in (f"/jobs/{encoded}", f"/workspaces/{encoded}", f"/jobs/{encoded}/progress"):
        answer = api.get(path)
        assert answer.status_code == 404, (path, answer.text)
        api_error(answer)


# HTTP ------------------------------------------------------------------------------------------
def _raw(emulator: Emulator, request: bytes) -> tuple[int, dict[str, Any]]:
    """Send raw bytes; the status and JSON body of the answer."""
    with socket.create_connection(("127.0.0.1", emulator.port), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    assert headers["Content-Type"] == "application/json"
    return int(lines[0].split()[1]), json.loads(body)


@pytest.mark.parametrize(
    ("request_bytes", "status", "code"),
    [
        (b"POST /contextcapture/jobs HTTP/1.1\r\nContent-Length: abc\r\n\r\n", 400, "BadRequest"),
        (b"POST /contextcapture/jobs HTTP/1.1\r\nContent-Length: -5\r\n\r\n", 400, "BadRequest"),
        (
            b"POST /contextcapture/jobs HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\n",
            413,
            "ContentTooLarge",
        ),
        (
            b"POST /contextcapture/jobs HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            400,
            "BadRequest",
        ),
        (b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n", 414, "RequestUriTooLong"),
        (b"GET / HTTP/1.1\r\n" + b"X: y\r\n" * 200 + b"\r\n", 431, "RequestHeaderFieldsTooLarge"),
    ],
)
def test_a_broken_http_request_is_answered_in_the_api_shape(
    emulator: Emulator, request_bytes: bytes, status: int, code: str
) -> None:
    answered, body = _raw(emulator, request_bytes)
    assert answered == status
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str)


# bugs ----------------------------------------------------------------------------------------
def test_a_bug_in_a_route_answers_a_json_500_and_is_logged(
    api: Api, emulator: Emulator, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(self: Backend, job_id: str) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(Backend, "get_job", broken)
    with caplog.at_level(logging.ERROR, logger="rmapply.emulator"):
        answer = api.get(f"/jobs/{new_id()}")
    assert answer.status_code == 500
    assert api_error(answer) == {
        "code": "InternalServerError",
        "message": "The emulator failed; see its log.",
    }
    assert "RuntimeError: a bug" in emulator.internal_errors[0]
    assert "RuntimeError: a bug" in caplog.text
    assert api.get("/limits/engines").status_code == 200


def test_a_bug_before_routing_still_answers_a_json_500(
    api: Api, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: Faults) -> float:
        raise RuntimeError("a bug in the faults")

    monkeypatch.setattr(Faults, "delay_seconds", broken)
    answer = api.get("/limits/engines")
    assert answer.status_code == 500
    assert api_error(answer)["code"] == "InternalServerError"
    assert "a bug in the faults" in emulator.internal_errors[0]


def test_a_basic_authorization_that_is_not_ascii_is_an_oauth_error(emulator: Emulator) -> None:
    answer = requests.post(
        emulator.token_url,
        data={"grant_type": "client_credentials", "scope": "itwin-platform"},
        headers={"Authorization": "Basic \x80\xff"},
        timeout=10,
    )
    assert answer.status_code == 401
    assert answer.json() == {
        "error": "invalid_client",
        "error_description": "Client authentication failed.",
    }
    assert emulator.internal_errors == []
