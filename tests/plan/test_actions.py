"""Action values: consistent kinds, readable preconditions and costs."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from rmapply.model import Address
from rmapply.plan import CostSource, Forget, JobCost, Precondition, ReasonCode, format_cost


def test_an_action_whose_kind_contradicts_its_address_is_refused() -> None:
    with pytest.raises(ValidationError, match=r"jobs\.a is not a workspace"):
        Forget(
            kind="workspace",
            address=Address.job("a"),
            reason_code=ReasonCode.REMOVED_FROM_MANIFESTS,
            reasons=("x",),
            precondition=Precondition(in_state=True, remote_id="r"),
            remote_id="r",
        )


def test_preconditions_read_as_sentences() -> None:
    assert Precondition(in_state=False).describe() == "absent from state"
    seen = Precondition(in_state=True, remote_id="j-1", state="active", seen="refreshed")
    assert seen.describe() == "id j-1 (active, refreshed)"


def test_costs_read_with_their_source() -> None:
    assert JobCost(amount=None, source=CostSource.UNKNOWN).describe() == (
        "unknown (no costEstimationParameters)"
    )
    assert JobCost(amount=12.5, source=CostSource.SERVICE).describe() == "12.5 (service figure)"
    assert [format_cost(x) for x in (3.0, 0.05, 1234567.5, 0.1 + 0.2)] == [
        "3",
        "0.05",
        "1234567.5",
        "0.3",
    ]
