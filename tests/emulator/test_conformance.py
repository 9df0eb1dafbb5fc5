"""Every answer of the emulator conforms to the official OpenAPI file (schemathesis)."""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from rmapply.emulator import Emulator, EmulatorOptions
from tests.emulator.conftest import job_body
from tests.reference import reference_dir

EXAMPLES = 15
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]

schema = schemathesis.openapi.from_path(reference_dir() / "contextcapture-v1.openapi.json")
schema.config.generation.update(
    modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE], max_examples=EXAMPLES
)


@pytest.fixture(scope="module")
def live() -> Iterator[dict[str, Any]]:
    """One emulator for the module, with a workspace and jobs in every state to aim at."""
    with Emulator(EmulatorOptions(speed=0, seed=1)) as emu:
        session = requests.Session()
        session.trust_env = False
        session.headers["Authorization"] = "Bearer conformance"
        base = emu.base_url
        workspace = session.post(f"{base}/workspaces", json={"name": "w"}, timeout=10).json()
        workspace_id = workspace["workspace"]["id"]
        jobs = []
        for state in ("unsubmitted", "active", "done"):
            job = session.post(f"{base}/jobs", json=job_body(workspace_id), timeout=10).json()
            jobs.append(job["job"]["id"])
            if state != "unsubmitted":
                session.patch(f"{base}/jobs/{jobs[-1]}", json={"state": "Active"}, timeout=10)
            if state == "done":
                emu.advance(3600)
        yield {"emu": emu, "session": session, "workspace": workspace_id, "jobs": jobs}
        session.close()
        assert emu.internal_errors == []


def _aim(case: schemathesis.Case, live: dict[str, Any]) -> None:
    """Point some generated requests at existing records so that 2xx answers get checked too."""
    seed = zlib.crc32(repr((case.path_parameters, case.body)).encode())
    if case.path_parameters and "id" in case.path_parameters and seed % 3:
        pool = [live["workspace"]] if "workspaces" in case.path else live["jobs"]
        case.path_parameters["id"] = pool[seed % len(pool)]
    if isinstance(case.body, dict) and "workspaceId" in case.body and seed % 2:
        case.body["workspaceId"] = live["workspace"]


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_every_answer_conforms_to_the_openapi_file(
    case: schemathesis.Case, live: dict[str, Any]
) -> None:
    _aim(case, live)
    case.call_and_validate(
        base_url=live["emu"].base_url,
        session=live["session"],
        headers={"Authorization": "Bearer conformance"},
        checks=CHECKS,
        timeout=10,
    )
