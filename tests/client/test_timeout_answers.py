"""408, 499 and 504 say "timed out", not "refused": to a POST the outcome is unknown."""

from __future__ import annotations

import pytest

from rmapply.client import RealityModelingClient, RetryPolicy, StaticToken
from rmapply.emulator import Emulator
from rmapply.errors import OutcomeUnknownError
from rmapply.wire import WorkspaceCreation


@pytest.mark.parametrize("status", [408, 499, 504])
def test_a_timeout_answer_to_a_post_is_an_unknown_outcome_and_is_not_sent_again(
    emulator: Emulator, token: str, itwin_id: str, status: int
) -> None:
    emulator.fail_next(1, status, "POST", "/contextcapture/workspaces")
    with (
        RealityModelingClient(
            emulator.base_url, StaticToken(token), retry=RetryPolicy.fast()
        ) as client,
        pytest.raises(OutcomeUnknownError) as info,
    ):
        client.create_workspace(WorkspaceCreation(name="w", i_twin_id=itwin_id))
    assert info.value.status == status
    assert info.value.message.startswith(f"POST /workspaces: {status} ")
    assert "may still have been processed" in (info.value.hint or "")
    assert emulator.request_count("POST", "/contextcapture/workspaces") == 1


def test_a_504_to_a_get_stays_a_server_error_and_is_retried(emulator: Emulator, token: str) -> None:
    emulator.fail_next(1, 504, "GET", "/contextcapture/limits")
    with RealityModelingClient(
        emulator.base_url, StaticToken(token), retry=RetryPolicy.fast()
    ) as client:
        client.engines_limit("3fa85f64-5717-4562-b3fc-2c963f66afa6")
    assert emulator.request_count("GET", "/contextcapture/limits") == 2
