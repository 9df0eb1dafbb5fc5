"""The mass-removal rule of rmapply.refresh: more than half of the state proven gone needs consent;
half or fewer never does; consent always passes; the refusal lists every proof."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rmapply.errors import PlanError
from rmapply.plan import RemoteView
from rmapply.refresh import RefreshResult, check_mass_removal
from rmapply.state import StateDocument
from tests.factories import make_job_spec, make_record, make_state


def _case(total: int, gone: int) -> tuple[StateDocument, RefreshResult]:
    """``total`` jobs in state, the first ``gone`` of them proven gone."""
    records = [make_record(f"jobs.j{n}", f"job-{n}", make_job_spec()) for n in range(total)]
    proofs = {f"job-{n}": f"GET /jobs/job-{n} answered 404 JobNotFound" for n in range(gone)}
    result = RefreshResult(
        view=RemoteView(gone=frozenset(proofs)),
        list_pages_used=True,
        get_requests=gone,
        proofs=proofs,
    )
    return make_state(*records), result


@given(st.integers(1, 40).flatmap(lambda total: st.tuples(st.just(total), st.integers(0, total))))
def test_consent_is_needed_exactly_when_more_than_half_is_gone(sizes: tuple[int, int]) -> None:
    total, gone = sizes
    state, result = _case(total, gone)
    check_mass_removal(state, result, allowed=True)  # consent always passes
    if gone * 2 <= total:
        check_mass_removal(state, result, allowed=False)
        return
    with pytest.raises(PlanError) as refused:
        check_mass_removal(state, result, allowed=False)
    lines = refused.value.message.splitlines()
    assert lines[0].startswith(f"refresh: {gone} of the {total} resources in state answered 404")
    assert len(lines) == 1 + gone
    assert refused.value.hint is not None
    assert refused.value.hint.endswith("run again with --allow-mass-removal")
