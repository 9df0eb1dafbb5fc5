"""trusted(): the planner's unvalidated construction gives exactly what validation gives."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel

from rmapply.model import Address, ResourceKind
from rmapply.plan import ActionType
from rmapply.plan.actions import NoOp, Precondition, ReasonCode, trusted
from rmapply.plan.remote import Sighting
from rmapply.plan.result import CostSummary, Summary

texts = st.text(max_size=12)
keys = st.from_regex(r"[a-z0-9][a-z0-9_-]{0,8}", fullmatch=True)
preconditions = st.fixed_dictionaries(
    {"in_state": st.booleans()},
    optional={
        "remote_id": st.none() | texts,
        "state": st.none() | st.sampled_from(["unsubmitted", "active", "success", "failed"]),
        "seen": st.sampled_from(list(Sighting)),
        "digest": st.none() | texts,
    },
)


def _same(built: BaseModel, validated: BaseModel) -> None:
    assert built == validated
    assert list(built.__dict__) == list(validated.__dict__)
    assert built.model_fields_set == validated.model_fields_set
    assert built.__pydantic_extra__ == validated.__pydantic_extra__
    assert built.__pydantic_private__ == validated.__pydantic_private__
    assert built.model_dump_json(by_alias=True) == validated.model_dump_json(by_alias=True)
    assert repr(built) == repr(validated)


@given(preconditions)
def test_precondition_as_validated(values: dict[str, Any]) -> None:
    _same(trusted(Precondition, **values), Precondition(**values))


@given(
    preconditions,
    st.sampled_from(list(ResourceKind)),
    keys,
    st.sampled_from(list(ReasonCode)),
    st.lists(texts, max_size=2).map(tuple),
    st.none() | texts,
)
def test_noop_as_validated(
    pre: dict[str, Any],
    kind: ResourceKind,
    key: str,
    code: ReasonCode,
    reasons: tuple[str, ...],
    remote_id: str | None,
) -> None:
    precondition = trusted(Precondition, **pre)
    values: dict[str, Any] = {
        "kind": "job" if kind is ResourceKind.JOB else "workspace",
        "address": Address(kind, key),
        "reason_code": code,
        "reasons": reasons,
        "precondition": precondition,
    }
    if remote_id is not None:
        values["remote_id"] = remote_id
    _same(trusted(NoOp, **values), NoOp(**values))


@given(
    st.floats(min_value=0, max_value=1e6, allow_nan=False),
    st.booleans(),
    st.integers(0, 50),
    st.integers(0, 50),
    st.dictionaries(st.sampled_from(list(ActionType)), st.integers(0, 9)),
)
def test_summary_as_validated(
    total: float, estimates: bool, unknown: int, jobs: int, counts: dict[ActionType, int]
) -> None:
    cost = {"total": total, "includes_estimates": estimates, "unknown": unknown, "jobs": jobs}
    values = {"counts": counts, "remote_changes": 1, "drift": 0, "unresolved": 2}
    built = trusted(Summary, cost=trusted(CostSummary, **cost), **values)
    _same(built, Summary(cost=CostSummary(**cost), **values))


def test_refuses_unknown_and_missing_fields() -> None:
    with pytest.raises(TypeError, match=r"unknown fields \['colour'\]"):
        trusted(Precondition, in_state=True, colour="red")
    with pytest.raises(TypeError, match=r"missing fields \['in_state'\]"):
        trusted(Precondition, digest="sha256:0")


def test_still_checks_the_action() -> None:
    precondition = trusted(Precondition, in_state=False)
    with pytest.raises(ValueError, match="is not a workspace"):
        trusted(
            NoOp,
            kind="workspace",
            address=Address.job("a"),
            reason_code=ReasonCode.UNCHANGED,
            reasons=("unchanged",),
            precondition=precondition,
        )
