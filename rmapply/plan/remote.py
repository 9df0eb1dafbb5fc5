"""RemoteView: what a refresh saw for every remote id in state, handed to the planner."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple

from rmapply.plain_record import PlainRecord
from rmapply.state.document import ResourceRecord

if TYPE_CHECKING:  # types only: a plan that reads nothing never builds the answers' models
    from rmapply.wire import Job, Workspace


class Sighting(StrEnum):
    """How the remote object of a resource was last seen (as written in preconditions)."""

    REFRESHED = "refreshed"  # a GET now answered with the object
    LAST_SEEN = "last seen"  # not refreshed: the object the state last saw
    GONE = "gone"  # a GET now answered 404
    ABSENT = "absent"  # not in the state: nothing to see


# a named tuple: built at import for a third of a dataclass's cost; read-only empty mappings
# stand for "nothing seen", so no instance can change another's
class RemoteView(NamedTuple):
    """Remote objects seen now, by remote id; ids in ``gone`` answered 404; others are unknown."""

    jobs: Mapping[str, Job] = MappingProxyType({})
    workspaces: Mapping[str, Workspace] = MappingProxyType({})
    gone: frozenset[str] = frozenset()
    # the JSON object a list page held for a job of ``jobs`` (plain data as the service sent it):
    # when it equals the state's last sighting, that sighting is the job's wire form (no dump)
    listed: Mapping[str, Any] = MappingProxyType({})

    def seen(self, remote_id: str) -> Sighting:
        """How ``remote_id`` was seen."""
        if remote_id in self.jobs or remote_id in self.workspaces:
            return Sighting.REFRESHED
        if remote_id in self.gone:
            return Sighting.GONE
        return Sighting.LAST_SEEN


# module constants: an enum member looked up on its class costs a descriptor call each time
_LAST_SEEN, _GONE, _REFRESHED = Sighting.LAST_SEEN, Sighting.GONE, Sighting.REFRESHED


# Written out as @dataclass(slots=True) would make it (init, repr, eq): the decorator costs a
# dozen times as much at import, and a named tuple's fields read slower in the planner's loop.
# Not frozen: one is made per record and a frozen __init__ costs a call per field; nothing
# assigns to it after __init__.
class Observation(PlainRecord):
    """A record as the planner sees it: how it was seen and the remote object (wire JSON)."""

    __slots__ = _FIELDS = ("seen", "current")
    seen: Sighting
    # the object seen now (FOUND), else the last one the state saw (UNKNOWN), None when GONE
    current: dict[str, Any] | None

    def __init__(self, seen: Sighting, current: dict[str, Any] | None) -> None:
        self.seen = seen
        self.current = current

    @property
    def job_state(self) -> str | None:
        """The job state (``unsubmitted``, ``active``, ...) if known."""
        if self.current is None:
            return None
        state = self.current.get("state")
        return str(state) if state is not None else None


def observe(record: ResourceRecord, remote: RemoteView | None) -> Observation:
    """The observation of ``record``: the refreshed object, or the state's last sighting."""
    if remote is None:
        return Observation(_LAST_SEEN, record.remote)
    job = record.kind == "job"
    found: Job | Workspace | None = (
        remote.jobs.get(record.remote_id) if job else remote.workspaces.get(record.remote_id)
    )
    if found is not None:
        last = record.remote
        # what the state recorded is a wire dump, and a wire dump read again dumps the same
        # (tests/plan/test_remote_round_trip.py): a job the page holds exactly as recorded
        # needs no dump of its model, a dump costs more than this comparison of plain data
        if job and last is not None and remote.listed.get(record.remote_id) == last:
            return Observation(_REFRESHED, last)
        return Observation(_REFRESHED, found.to_wire())
    if record.remote_id in remote.gone:
        return Observation(_GONE, None)
    return Observation(_LAST_SEEN, record.remote)
