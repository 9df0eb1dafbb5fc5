"""Builders and fixtures for apply tests: desired states, a client, a state store, one apply."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

from rmapply.apply.backoff import PollSchedule
from rmapply.apply.events import ApplyEvent
from rmapply.apply.executor import ApplyOptions, execute_plan
from rmapply.apply.summary import ApplySummary
from rmapply.client import RealityModelingClient, RetryPolicy, StaticToken
from rmapply.emulator import Emulator
from rmapply.model import Address, DesiredJob, DesiredState, DesiredWorkspace, JobSpec, Source
from rmapply.model.specs import WorkspaceSpec
from rmapply.plan.context import PlanOptions
from rmapply.plan.planner import build_plan
from rmapply.plan.result import Plan
from rmapply.state import LocalStateStore

INPUT_ID = "58e0c0ca-1d8d-4e8b-9a3c-2f3a1b5c7d90"
FAST_POLLS = PollSchedule(scale=0.002)  # 30 ms .. 240 ms between polls


def job_spec(
    name: str,
    *,
    workspace: str | None = "main",
    submit: bool = True,
    engines: int | None = None,
    giga_pixels: float | None = None,
    depends_on: Sequence[str] = (),
    outputs: Sequence[str] = ("OBJ", "Cesium 3D Tiles"),
) -> JobSpec:
    """A valid job spec (``engines=99`` makes the emulator refuse it with 422)."""
    body: dict[str, Any] = {
        "type": "Full",
        "name": name,
        "inputs": [{"id": INPUT_ID, "description": "photos"}],
        "settings": {"quality": "Medium", "outputs": list(outputs)},
        "submit": submit,
        "dependsOn": list(depends_on),
    }
    if workspace:
        body["workspace"] = workspace
    if engines is not None:
        body["settings"]["processingEngines"] = engines
    if giga_pixels is not None:
        body["costEstimationParameters"] = {"gigaPixels": giga_pixels, "meshQuality": "Medium"}
    return JobSpec.from_wire(body)


def desired_state(
    itwin_id: str, jobs: dict[str, JobSpec], workspaces: Sequence[str] = ("main",)
) -> DesiredState:
    """A DesiredState with the given workspaces (named after their key) and jobs."""
    return DesiredState(
        itwin_id=itwin_id,
        workspaces={
            Address.workspace(k): DesiredWorkspace(
                Address.workspace(k), WorkspaceSpec(name=f"ws {k}"), Source("manifests/ws.toml")
            )
            for k in workspaces
        },
        jobs={
            Address.job(k): DesiredJob(Address.job(k), spec, Source(f"manifests/{k}.toml"))
            for k, spec in jobs.items()
        },
    )


@pytest.fixture
def client(emulator: Emulator, token: str) -> Iterator[RealityModelingClient]:
    """A client of the ``emulator`` with short retry waits."""
    with RealityModelingClient(
        emulator.base_url, StaticToken(token), retry=RetryPolicy.fast(), timeout=(5, 10)
    ) as made:
        yield made


@pytest.fixture
def store(tmp_path: Path) -> LocalStateStore:
    """An empty local state store."""
    return LocalStateStore(tmp_path / "state" / "rmapply.state.json")


def plan_for(desired: DesiredState, store: LocalStateStore, **options: Any) -> Plan:
    """A plan from the state alone (no refresh)."""
    return build_plan(
        desired, store.load(), None, now=datetime.now(UTC), options=PlanOptions(**options)
    )


def run_apply(
    desired: DesiredState,
    store: LocalStateStore,
    client: RealityModelingClient,
    *,
    events: list[ApplyEvent] | None = None,
    plan: Plan | None = None,
    **options: Any,
) -> ApplySummary:
    """Plan (unless given) and execute under the state lock, as ``rmapply apply`` does."""
    options.setdefault("poll_schedule", FAST_POLLS)
    options.setdefault("itwin_id", desired.itwin_id)
    with store.lock("apply") as session:
        if plan is None:
            plan = build_plan(desired, session.document, None, now=datetime.now(UTC))
        return execute_plan(
            plan,
            session,
            client,
            options=ApplyOptions(**options),
            on_event=(events.append if events is not None else lambda e: None),
        )


def new_itwin() -> str:
    """A fresh iTwin id."""
    return str(uuid.uuid4())


def in_chain_join(frame: FrameType | None) -> bool:
    """Whether this stack is inside the chain's join, where ``apply --wait`` only waits: its
    submits have all been tried (a submit whose inputs are not ready is waiting)."""
    while frame is not None:
        code = frame.f_code
        if code.co_name == "join" and code.co_filename.endswith("chain.py"):
            return True
        frame = frame.f_back
    return False
