"""PlanOptions, and the context the planner's rules read while deciding one resource at a time."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, NamedTuple, cast

from rmapply.errors import PlanError
from rmapply.model import Address, DesiredJob, DesiredState, OutputRef, ResourceKind
from rmapply.plan.actions import (
    GONE,
    KNOWN_AFTER_APPLY,
    NEW_UPSTREAM,
    Action,
    ActionType,
    InputRef,
    Upstream,
    _Resolvable,
)
from rmapply.plan.cost import CostModel
from rmapply.plan.remote import Observation, RemoteView, observe
from rmapply.state.document import ResourceRecord, StateDocument
from rmapply.wire import JobState

if TYPE_CHECKING:
    from rmapply.plan.changes import CreateWorkspace
    from rmapply.plan.reported import RemoteChange

# a workspace this plan creates anew: CreateWorkspace or ReplaceWorkspace, told by type (the
# classes are created on first use: a no-op plan never needs them)
_NEW_WORKSPACE = (ActionType.CREATE, ActionType.REPLACE)


# a named tuple: built at import for a third of a dataclass's cost
class PlanOptions(NamedTuple):
    """How to plan (the CLI fills it from flags and rmapply.toml)."""

    # --target ADDRESS (repeatable, globs like jobs.site-*): these and what they need
    targets: tuple[str, ...] = ()
    # --replace ADDRESS (repeatable, globs): run these jobs again although nothing changed
    replace: tuple[str, ...] = ()
    # --refresh-only: show (and let apply accept) remote changes alone
    refresh_only: bool = False
    # --cancel-replaced: cancel an active job that is replaced (else it keeps running)
    cancel_replaced: bool = False
    # cancel an active job that left the manifests before forgetting it (else only forgotten)
    cancel_removed: bool = False
    # --max-cost or [budget] maxCost: raise CostLimitError when the known total is above it
    max_cost: float | None = None
    max_cost_source: str = "[budget] maxCost"  # named in the error: where the limit was set
    cost_model: CostModel = CostModel()  # immutable: one default serves every plan
    # [api] inFlightMargin: how long after its read timeout a lost create may still land
    in_flight_margin: float = 60.0


_JOB = ResourceKind.JOB  # a module constant: enum members looked up on the class are slow


def address_name(address: Address) -> str:
    """``jobs.site-a``: as str(address), without the (slow) enum value lookup."""
    return ("jobs." if address.kind is _JOB else "workspaces.") + address.key


class RecordIndex:
    """The state's records looked up by Address; addresses are parsed only when iterated."""

    def __init__(self, resources: Mapping[str, ResourceRecord]) -> None:
        self._resources = resources
        self._parsed: dict[Address, ResourceRecord] | None = None

    def get(self, address: Address) -> ResourceRecord | None:
        """The record at ``address``, if any."""
        return self._resources.get(address_name(address))

    def __contains__(self, address: Address) -> bool:
        return address_name(address) in self._resources

    def __getitem__(self, address: Address) -> ResourceRecord:
        return self._resources[address_name(address)]

    def __len__(self) -> int:
        return len(self._resources)

    def items(self) -> dict[Address, ResourceRecord]:
        """Every record by parsed address."""
        if self._parsed is None:
            self._parsed = {_parse(k): r for k, r in self._resources.items()}
        return self._parsed

    def not_in(self, names: set[str], kind: ResourceKind) -> list[Address]:
        """Addresses of ``kind`` in state whose name is not in ``names`` (state-only ones)."""
        wanted = "job" if kind is ResourceKind.JOB else "workspace"
        return [
            _parse(k) for k, r in self._resources.items() if r.kind == wanted and k not in names
        ]


# the kinds by the name an address starts with: ResourceKind(name) costs several Python calls
_KINDS = {kind.value: kind for kind in ResourceKind}


def _parse(key: str) -> Address:
    kind, _, name = key.partition(".")
    found = _KINDS.get(kind)
    if found is not None and name:
        with contextlib.suppress(ValueError):  # an invalid key: Address.parse tells what is wrong
            return Address(found, name)
    try:
        return Address.parse(key)
    except ValueError as exc:
        raise PlanError(
            f"state: resource {key!r} is not an address: {exc}",
            hint="fix or remove it with 'rmapply state mv' or 'rmapply state rm'",
        ) from exc


# Not a dataclass: the decorator costs a dozen times as much at import as this __init__, and
# one context is made per plan from its six inputs (nothing compares or shows it).
class PlanContext:
    """Inputs of one build_plan call and what was decided so far."""

    def __init__(  # noqa: PLR0917 - the dataclass's signature, kept for its callers
        self,
        desired: DesiredState,
        state: StateDocument,
        remote: RemoteView | None,
        options: PlanOptions,
        now: datetime,
        records: RecordIndex,
    ) -> None:
        self.desired = desired
        self.state = state
        self.remote = remote
        self.options = options
        self.now = now
        self.records = records
        self.warnings: list[str] = []
        self.replacing: frozenset[Address] = frozenset()  # the jobs --replace names
        # False when no job of the manifests takes another's outputs or cache (most projects):
        # then no job has an upstream to look at
        self.pipelines = True
        self.workspace_actions: dict[Address, Action] = {}
        # the jobs decided so far: upstream jobs are decided before the jobs taking their outputs
        self.job_actions: dict[Address, Action] = {}
        self.remote_changes: dict[Address, RemoteChange] = {}
        self._observations: dict[Address, Observation] = {}
        self._workspaces: dict[str, tuple[str, Address | None]] = {}

    def observe(self, address: Address, record: ResourceRecord | None = None) -> Observation:
        """How the record at ``address`` is seen (refreshed now, or last seen in state);
        ``record`` is that record when the caller holds it already."""
        seen = self._observations.get(address)
        if seen is None:
            seen = observe(record if record is not None else self.records[address], self.remote)
            self._observations[address] = seen
        return seen

    def workspace_for(self, job: DesiredJob) -> tuple[str, Address | None]:
        """The workspace id a job is created in, and the workspace address when that id is
        only known after apply (the workspace is created or replaced by this plan)."""
        spec = job.spec
        if spec.workspace is None:
            return spec.workspace_id or "", None
        known = self._workspaces.get(spec.workspace)
        if known is None:
            # cached: workspaces are all decided before the first job, and jobs share them
            address = Address.workspace(spec.workspace)
            action = self.workspace_actions.get(address)
            # CreateWorkspace | ReplaceWorkspace (by type: the classes are made on first use)
            if action is not None and action.action in _NEW_WORKSPACE:
                known = (KNOWN_AFTER_APPLY, address)
            else:
                record = self.records.get(address)
                known = ((record.remote_id if record else ""), None)
            self._workspaces[spec.workspace] = known
        return known

    def recreated(self, address: Address) -> bool:
        """True when this plan creates the job at ``address`` anew (its ids change)."""
        return isinstance(self.job_actions.get(address), _Resolvable)  # CreateJob | ReplaceJob

    def cache_for(self, job: DesiredJob) -> tuple[str | None, Address | None]:
        """The cache id of ``useCache = "jobs.KEY"`` (that job's id), and the job's address when
        the id is only known after apply (this plan creates that job anew); (None, None)
        without such a reference."""
        reference = job.spec.cache_address
        if reference is None:
            return None, None
        address = Address.parse(reference)
        record = self.records.get(address)
        if record is not None and not self.recreated(address):
            return record.remote_id, None
        return KNOWN_AFTER_APPLY, address

    def outputs_for(self, job: DesiredJob) -> tuple[dict[OutputRef, str], tuple[InputRef, ...]]:
        """The ids of the inputs written as ``jobs.KEY.outputs.FORMAT``: known ones (recorded
        for a job this plan keeps) and the references apply fills (a job created anew, or an
        output its record lacks, which apply then reports)."""
        known: dict[OutputRef, str] = {}
        refs: list[InputRef] = []
        for index, ref in job.spec.output_refs.items():
            record = self.records.get(ref.address)
            found = None
            if record is not None and not self.recreated(ref.address):
                found = record.outputs.get(ref.format)
            if found is not None:
                known[ref] = found
            else:
                item = InputRef(index=index, address=ref.address, format=ref.format)
                known[ref] = item.placeholder
                refs.append(item)
        return known, tuple(refs)

    def upstream(self, address: Address) -> Upstream:
        """The job at ``address`` as a downstream job sees it: ``new`` when this plan creates
        it, else its job state (refreshed, or last seen)."""
        record = self.records.get(address)
        if record is None or self.recreated(address):
            return Upstream(address=address, state=NEW_UPSTREAM)
        # a refresh reads jobs, not their progress: the percentage is apply's to report
        return Upstream(address=address, state=self.observe(address).job_state)

    def waiting_for(self, job: DesiredJob) -> tuple[Upstream, ...]:
        """The upstream jobs of ``job`` not in success: its submit waits for them."""
        found = [self.upstream(a) for a in sorted(upstreams(job))]
        return tuple(u for u in found if u.state != JobState.SUCCESS)

    def gone_workspace_ids(self, address: Address) -> set[str]:
        """Ids of the workspace at ``address`` that vanished remotely (not the user's change)."""
        ids: set[str] = set()
        record = self.records.get(address)
        if record is not None:
            ids |= {h.id for h in record.history if h.last_state == GONE}
        action = self.workspace_actions.get(address)
        if action is not None and action.action is ActionType.CREATE:  # a CreateWorkspace
            previous_id = cast("CreateWorkspace", action).previous_id
            if previous_id:
                ids.add(previous_id)
        return ids


def upstreams(job: DesiredJob) -> set[Address]:
    """The jobs whose outputs (``jobs.KEY.outputs.FORMAT``) or cache (``useCache``) ``job``
    takes: it is submitted only once each has succeeded. ``dependsOn`` is not among them."""
    return job.spec.upstreams
