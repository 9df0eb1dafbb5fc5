"""Binding rules of the state, on plain values: the normalised endpoint, the refusal, read-back."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rmapply.errors import StateEndpointMismatchError
from rmapply.state import LocalStateStore, StateDocument
from rmapply.state.binding import Binding, check_binding, normalise_endpoint, read_back
from tests.factories import make_job_spec, make_record


@pytest.mark.parametrize(
    ("given_url", "expected"),
    [
        ("https://API.Bentley.com:443/contextcapture/", "https://api.bentley.com/contextcapture"),
        ("HTTP://127.0.0.1:80/cc", "http://127.0.0.1/cc"),
        ("http://user:pw@127.0.0.1:8080/cc?token=x#f", "http://127.0.0.1:8080/cc"),
        ("http://[::1]:9000/cc", "http://[::1]:9000/cc"),
        ("local:.rmapply/emulator.sqlite3", "local:.rmapply/emulator.sqlite3"),
    ],
)
def test_an_endpoint_is_recorded_without_credentials_query_or_default_port(
    given_url: str, expected: str
) -> None:
    assert normalise_endpoint(given_url) == expected


_PART = st.text(alphabet="abcXYZ019-._~%", min_size=1, max_size=8)


@given(
    scheme=st.sampled_from(["http", "https", "HTTPS"]),
    user=_PART,
    password=_PART,
    host=st.sampled_from(["api.example.com", "127.0.0.1", "Host.Test"]),
    port=st.one_of(st.none(), st.integers(1, 65535)),
    path=st.lists(_PART, max_size=3).map(lambda parts: "".join(f"/{p}" for p in parts)),
    query=_PART,
)
def test_normalising_is_idempotent_and_drops_user_info_and_query(
    scheme: str, user: str, password: str, host: str, port: int | None, path: str, query: str
) -> None:
    netloc = f"{user}:{password}@{host}" + (f":{port}" if port is not None else "")
    url = f"{scheme}://{netloc}{path}?q={query}"
    once = normalise_endpoint(url)
    assert normalise_endpoint(once) == once
    assert "@" not in once and "?" not in once
    assert once.startswith(scheme.lower() + "://" + host.lower())


def test_an_unbound_state_is_accepted_and_a_bound_one_only_where_it_belongs() -> None:
    document = StateDocument()
    here = Binding("http://a.test/cc", "itwin-1")
    check_binding(document, Binding("http://b.test/cc"), location="s.json")  # unbound
    document.endpoint, document.itwin_id = here.endpoint, here.itwin_id
    check_binding(document, here, location="s.json")
    check_binding(document, Binding(here.endpoint, None), location="s.json")  # no iTwin claimed
    with pytest.raises(
        StateEndpointMismatchError, match=re.escape("belongs to endpoint http://a.test/cc")
    ):
        check_binding(document, Binding("http://b.test/cc", "itwin-1"), location="s.json")
    with pytest.raises(StateEndpointMismatchError, match="belongs to iTwin itwin-1"):
        check_binding(document, Binding(here.endpoint, "itwin-2"), location="s.json")


def test_only_a_recorded_id_read_back_counts() -> None:
    document = StateDocument(resources={"jobs.a": make_record("jobs.a", "id-a", make_job_spec())})
    assert read_back(document, ["id-a", "other"])
    assert not read_back(document, ["other"])
    assert not read_back(StateDocument(), ["id-a"])


def test_a_version_1_state_loads_unbound_and_is_written_back_as_version_2(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    old = {"version": 1, "lineage": "6f1c2a8e-3b7d-4f0a-9c55-1d2e3f4a5b6c", "serial": 4,
           "rmapply_version": "0.1.0", "resources": {}, "pending": {}}  # fmt: skip
    path.write_text(json.dumps(old), encoding="utf-8")
    store = LocalStateStore(path)
    loaded = store.load()
    assert (loaded.version, loaded.endpoint, loaded.itwin_id, loaded.serial) == (1, None, None, 4)
    with store.lock("test") as session:
        session.save(session.document)
    written = json.loads(path.read_text("utf-8"))
    assert (written["version"], written["serial"], written["endpoint"]) == (2, 5, None)
    assert written["lineage"] == old["lineage"]
