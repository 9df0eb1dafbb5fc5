"""``state rebind``: read recorded ids back at the new endpoint before binding the state to it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from rmapply.state import ResourceRecord
from rmapply.state.binding import Binding

if TYPE_CHECKING:
    from rmapply.client import RealityModelingClient
    from rmapply.wire import Job, Workspace

REBIND_SAMPLE = 3  # recorded ids read at the new endpoint before `state rebind` binds it


@dataclass(frozen=True)
class Rebound:
    """What ``state rebind`` did: the new binding, the endpoint before, the addresses read."""

    binding: Binding
    previous: str | None
    checked: tuple[str, ...]


def read_back_problem(
    client: RealityModelingClient, record: ResourceRecord, binding: Binding
) -> str | None:
    """Why ``record``'s id was not answered as the API does, or None when it was."""
    from rmapply.errors import RmapplyError

    where = f"{record.address} ({record.kind} {record.remote_id})"
    try:
        if record.kind == "job":
            answer: Job | Workspace = client.get_job(record.remote_id)
        else:
            answer = client.get_workspace(record.remote_id)
    except RmapplyError as exc:
        return f"{where}: {exc.message}"
    if answer.id != record.remote_id:
        return f"{where}: the answer is {record.kind} {answer.id}, not the recorded id"
    if binding.itwin_id and answer.i_twin_id and answer.i_twin_id != binding.itwin_id:
        return f"{where}: it belongs to iTwin {answer.i_twin_id}, not {binding.itwin_id}"
    return None


__all__ = ["REBIND_SAMPLE", "Rebound", "read_back_problem"]
