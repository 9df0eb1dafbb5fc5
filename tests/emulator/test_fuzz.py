"""Fuzzing the routes over real HTTP: any body, id, ``$filter`` or ``$top`` gets 2xx or a 4xx in the
API's error shape, never a 5xx, and the server still answers afterwards.

CI runs ``FUZZ_EXAMPLES`` (100) derandomized examples per test; ``RMAPPLY_FUZZ_EXAMPLES=5000`` runs
more, randomly.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rmapply.emulator import Emulator, EmulatorOptions
from tests.emulator.answers import assert_acceptable
from tests.emulator.conftest import job_body

FUZZ_EXAMPLES = 100
_MORE = os.environ.get("RMAPPLY_FUZZ_EXAMPLES", "")
FUZZ = settings(
    max_examples=int(_MORE) if _MORE else FUZZ_EXAMPLES,
    derandomize=not _MORE,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
TIMEOUT = 10


class Target:
    """A running emulator with a workspace and a job, and a session that speaks to it."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self.base = emulator.base_url
        self.session = requests.Session()
        self.session.trust_env = False
        self.session.headers["Authorization"] = "Bearer fuzz"
        answer = self.session.post(self.base + "/workspaces", json={"name": "w"}, timeout=TIMEOUT)
        self.workspace_id = answer.json()["workspace"]["id"]
        body = job_body(self.workspace_id)
        answer = self.session.post(self.base + "/jobs", json=body, timeout=TIMEOUT)
        self.job_id = answer.json()["job"]["id"]

    def send(self, method: str, path: str, body: bytes | None = None) -> None:
        """Send one request; its answer must be acceptable, and the server must still be up."""
        bugs = len(self.emulator.internal_errors)
        answer = self.session.request(method, self.base + path, data=body, timeout=TIMEOUT)
        assert_acceptable(answer)
        health = self.session.get(self.base + "/limits/engines", timeout=TIMEOUT)
        assert health.status_code == 200, health.text
        assert self.emulator.internal_errors[bugs:] == []


@pytest.fixture(scope="module")
def target() -> Iterator[Target]:
    """One emulator for all examples of a module (hypothesis reuses it across examples)."""
    with Emulator(EmulatorOptions(speed=1000)) as emulator:
        made = Target(emulator)
        yield made
        made.session.close()


# strategies ----------------------------------------------------------------------------------
SURROGATES = st.sampled_from(["\ud800", "\udfff", "a\udc00b", "\ud83d"])
TEXT = st.one_of(
    st.text(st.characters(codec=None, exclude_categories=()), max_size=20),
    SURROGATES,
    st.sampled_from(["", " ", "Full", "Active", "OBJ", "'", "%", "\x00", "é" * 50]),
)
NUMBERS = st.one_of(
    st.integers(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | NUMBERS | TEXT,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(TEXT, children, max_size=4),
    max_leaves=20,
)


def _encode(value: Any) -> bytes:
    # ensure_ascii writes lone surrogates as \\udXXX escapes, as a client in another language may.
    return json.dumps(value, allow_nan=True).encode()


@st.composite
def mutated_job_bodies(draw: st.DrawFn) -> bytes:
    """The reference create body with one field (at any depth) replaced by any JSON value."""
    body: Any = job_body(draw(st.sampled_from(["", "ws", "00000000-0000-0000-0000-000000000000"])))
    paths = [
        ("name",), ("type",), ("workspaceId",), ("inputs",), ("settings",),
        ("settings", "quality"), ("settings", "outputs"), ("settings", "processingEngines"),
        ("settings", "cacheSettings"), ("costEstimationParameters",),
        ("costEstimationParameters", "gigaPixels"), ("costEstimationParameters", "megaPoints"),
        ("state",), ("extra",),
    ]  # fmt: skip
    path = draw(st.sampled_from(paths))
    holder = body
    for key in path[:-1]:
        holder = holder.setdefault(key, {})
    holder[path[-1]] = draw(JSON_VALUES)
    return _encode(body)


RAW_NUMBERS = st.one_of(
    st.integers(min_value=1, max_value=6000).map(lambda n: b"9" * n),
    st.sampled_from([b"1e999", b"-1e999", b"NaN", b"Infinity", b"-0", b"1E400", b"0.0000001"]),
)
BODIES = st.one_of(
    JSON_VALUES.map(_encode),
    mutated_job_bodies(),
    st.binary(max_size=300),
    st.integers(min_value=1, max_value=5000).map(lambda n: b"[" * n + b"]" * n),
    st.integers(min_value=1, max_value=5000).map(lambda n: b'{"a":' * n + b"1" + b"}" * n),
    RAW_NUMBERS.map(lambda n: b'{"name": "x", "settings": {"processingEngines": ' + n + b"}}"),
    RAW_NUMBERS.map(lambda n: b'{"costEstimationParameters": {"gigaPixels": ' + n + b"}}"),
)

PROPERTIES = ["id", "iTwinId", "name", "email", "type", "state", "createdDateTime", "inputId",
              "outputId", "NAME", "bogus"]  # fmt: skip
OPERATORS = ["eq", "ne", "lt", "le", "gt", "ge", "EQ", "in", "has", ""]
GUID = "6f5bd7b1-0b3c-4d5e-9f8a-1b2c3d4e5f60"
VALUES = st.one_of(
    st.sampled_from(
        [
            GUID,
            "2024-01-01T00:00:00Z",
            "2024-13-45T99:99",
            "'x'",
            "'it''s'",
            "''",
            "'",
            "word",
            "null",
            "(",
            ")",
            "'\ud800'",
        ]
    ),
    TEXT.map(lambda t: "'" + t.replace("'", "''") + "'"),
)


@st.composite
def comparisons(draw: st.DrawFn) -> str:
    """``property op value`` or ``property in (values)``, sometimes wrong on purpose."""
    prop, op = draw(st.sampled_from(PROPERTIES)), draw(st.sampled_from(OPERATORS))
    if op == "in":
        return f"{prop} in ({', '.join(draw(st.lists(VALUES, min_size=0, max_size=4)))})"
    return f"{prop} {op} {draw(VALUES)}"


FILTERS = st.one_of(
    st.recursive(
        comparisons(),
        lambda inner: (
            st.tuples(inner, st.sampled_from(["and", "or", "AND", "xor"]), inner).map(" ".join)
            | inner.map(lambda e: f"({e})")
        ),
        max_leaves=12,
    ),
    st.integers(min_value=1, max_value=3000).map(lambda n: "(" * n + "id eq 'a'" + ")" * n),
    st.integers(min_value=1, max_value=3000).map(lambda n: " or ".join(["name eq 'a'"] * n)),
    TEXT,
)


def _q(text: str) -> str:
    """Percent-encode any text, lone surrogates included (as their UTF-8-like bytes)."""
    return quote(text, safe="", errors="surrogatepass")


# tests ---------------------------------------------------------------------------------------
@FUZZ
@given(body=BODIES)
def test_any_workspace_body_is_answered_without_a_5xx(target: Target, body: bytes) -> None:
    target.send("POST", "/workspaces", body)


@FUZZ
@given(body=BODIES)
def test_any_job_body_is_answered_without_a_5xx(target: Target, body: bytes) -> None:
    target.send("POST", "/jobs", body)


@FUZZ
@given(body=BODIES)
def test_any_patch_body_is_answered_without_a_5xx(target: Target, body: bytes) -> None:
    target.send("PATCH", f"/jobs/{target.job_id}", body)


@FUZZ
@given(
    job_id=TEXT,
    method=st.sampled_from(["GET", "PATCH", "DELETE"]),
    suffix=st.sampled_from(["", "/progress"]),
    kind=st.sampled_from(["jobs", "workspaces"]),
)
def test_any_id_is_answered_without_a_5xx(
    target: Target, job_id: str, method: str, suffix: str, kind: str
) -> None:
    target.send(method, f"/{kind}/{_q(job_id)}{suffix}", b"{}" if method == "PATCH" else None)


@FUZZ
@given(
    filter_text=FILTERS,
    top=st.one_of(st.none(), TEXT, st.integers().map(str)),
    token=st.one_of(
        st.none(),
        TEXT,
        JSON_VALUES.map(lambda v: base64.urlsafe_b64encode(_encode(v)).decode()),
        st.binary(max_size=60).map(lambda b: base64.urlsafe_b64encode(b).decode()),
    ),
    skip=st.one_of(st.none(), st.integers().map(str)),
)
def test_any_jobs_query_is_answered_without_a_5xx(
    target: Target, filter_text: str, top: str | None, token: str | None, skip: str | None
) -> None:
    params = [("$filter", filter_text), ("$top", top), ("continuationToken", token),
              ("$skip", skip)]  # fmt: skip
    query = "&".join(f"{name}={_q(value)}" for name, value in params if value is not None)
    target.send("GET", f"/jobs?{query}")


@FUZZ
@given(itwin=TEXT)
def test_any_engines_query_is_answered_without_a_5xx(target: Target, itwin: str) -> None:
    target.send("GET", f"/limits/engines?iTwinId={_q(itwin)}")


# Latin-1 without controls; requests refuses a value starting with a blank (as \x85 or \xa0).
HEADER_TEXT = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=60
).map(str.lstrip)


@FUZZ
@given(
    body=st.one_of(st.binary(max_size=200), TEXT.map(lambda t: t.encode("utf-8", "surrogatepass"))),
    form=st.dictionaries(
        st.sampled_from(["grant_type", "client_id", "client_secret", "scope", "x"]), TEXT
    ),
    basic=st.one_of(st.none(), HEADER_TEXT, st.binary(max_size=40)),
)
def test_any_token_request_is_answered_without_a_5xx(
    target: Target, body: bytes, form: dict[str, str], basic: str | bytes | None
) -> None:
    """The token endpoint answers OAuth 2.0 errors (not the API's shape), but never a 5xx."""
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if isinstance(basic, bytes):
        headers["Authorization"] = "Basic " + base64.b64encode(basic).decode()
    elif basic is not None:
        headers["Authorization"] = "Basic " + basic
    encoded = "&".join(f"{_q(k)}={_q(v)}" for k, v in form.items()).encode()
    root = target.base.removesuffix("/contextcapture")
    bugs = len(target.emulator.internal_errors)
    for data in (body, encoded):
        answer = target.session.post(
            f"{root}/connect/token", data=data, headers=headers, timeout=TIMEOUT
        )
        assert answer.status_code < 500, answer.text[:300]
        assert set(answer.json()) in ({"error", "error_description"}, {
            "access_token", "token_type", "expires_in", "scope"})  # fmt: skip
    assert target.emulator.internal_errors[bugs:] == []


@FUZZ
@given(authorization=HEADER_TEXT)
def test_any_authorization_header_is_answered_without_a_5xx(
    target: Target, authorization: str
) -> None:
    bugs = len(target.emulator.internal_errors)
    answer = requests.get(
        f"{target.base}/jobs/{GUID}",
        headers={"Authorization": authorization},
        timeout=TIMEOUT,
    )
    assert_acceptable(answer)
    assert target.emulator.internal_errors[bugs:] == []
