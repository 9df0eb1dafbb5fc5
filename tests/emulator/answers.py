"""Checks of the emulator's answers: the API's error shape, read as strictly as the spec says."""

from __future__ import annotations

from typing import Any

import requests

from rmapply.wire import DetailedErrorResponse, ErrorResponse


def api_error(answer: requests.Response) -> dict[str, Any]:
    """The ``error`` object of an answer in the API's error shape (fails the test otherwise)."""
    assert answer.headers.get("Content-Type") == "application/json", (
        answer.status_code,
        answer.headers.get("Content-Type"),
        answer.text[:300],
    )
    body = answer.json()
    if "details" in body.get("error", {}):
        DetailedErrorResponse.from_wire(body)
    else:
        ErrorResponse.from_wire(body)
    error: dict[str, Any] = body["error"]
    return error


def assert_acceptable(answer: requests.Response) -> None:
    """2xx, or a 4xx in the API's error shape; never a 5xx."""
    assert answer.status_code < 500, (answer.status_code, answer.text[:500])
    if answer.status_code >= 400:
        api_error(answer)
    elif answer.status_code != 204:
        assert isinstance(answer.json(), dict)
