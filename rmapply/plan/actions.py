"""Plan actions: frozen values with reasons, the precondition they were computed under and the
exact request body (see docs/plan.md)."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    PlainSerializer,
    PlainValidator,
    WithJsonSchema,
)
from pydantic.alias_generators import to_camel

from rmapply.errors import ApplyError, PlanError
from rmapply.model import Address, FieldClass, ResourceKind
from rmapply.wire import JobCreation, JobPatch, PatchState, WireModel, WorkspaceCreation

# Shown (and sent nowhere) in place of an id that exists only once an earlier action of the
# same apply created it: a workspace's id (workspaceId) or a job's cache id (useCache).
KNOWN_AFTER_APPLY = "(known after apply)"
# The only bodies apply sends to submit and to cancel a job: a plan can show no other.
SUBMIT_PATCH = JobPatch(state=PatchState.ACTIVE)
CANCEL_PATCH = JobPatch(state=PatchState.CANCELLED)
# ``ReplacedId.last_state`` for an id that vanished remotely (404) and was created again.
GONE = "gone"


def _parse_address(value: Any) -> Address:
    if isinstance(value, Address):
        return value
    if isinstance(value, str):
        return Address.parse(value)
    raise ValueError(f"an address must be a string such as 'jobs.site-a', not {value!r}")


def _wire(model: BaseModel) -> dict[str, Any]:
    dumped: dict[str, Any] = model.model_dump(mode="json", by_alias=True, exclude_none=True)
    return dumped


AddressField = Annotated[
    Address,
    PlainValidator(_parse_address),
    PlainSerializer(str, return_type=str),
    WithJsonSchema({"type": "string", "pattern": r"^(jobs|workspaces)\.[a-z0-9][a-z0-9_-]*$"}),
]
_WireOut = PlainSerializer(_wire, return_type=dict[str, Any])
JobCreationBody = Annotated[JobCreation, _WireOut]
JobPatchBody = Annotated[JobPatch, _WireOut]
WorkspaceCreationBody = Annotated[WorkspaceCreation, _WireOut]


def format_cost(amount: float) -> str:
    """A cost with at most two decimals and no trailing zeros: ``12.5``, ``3``, ``0.05``."""
    return f"{amount:.2f}".rstrip("0").rstrip(".")


class PlanValue(BaseModel):
    """Base of the plan's values: frozen, strict about unknown fields, camelCase in JSON."""

    # the API's dialect: dumped with by_alias=True (plan JSON, plan files); built by field name
    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=True,
        defer_build=True,
    )


class ActionType(StrEnum):
    """What an action does."""

    CREATE = "create"
    UPDATE = "update"
    REPLACE = "replace"
    DELETE = "delete"
    SUBMIT = "submit"
    FORGET = "forget"  # drop from state, no API call (except a cancel when asked)
    RECORD = "record"  # write the new spec into state, no API call
    NOOP = "noop"


class ReasonCode(StrEnum):
    """Why an action was planned, for machines (``reasonCode``); the sentences say it for people."""

    NEW = "new"  # in the manifests, not in the state
    GONE_REMOTELY = "gone-remotely"  # in the state, but the service answers 404
    RETRY_FAILED = "retry-failed"  # failed or cancelled and retryFailed = true
    REPLACE_REQUESTED = "replace-requested"  # --replace ADDRESS
    RERUN_FIELD_CHANGED = "rerun-field-changed"  # what a submitted job computes changed
    UNPATCHABLE_FIELD_CHANGED = "unpatchable-field-changed"  # unsubmitted, PATCH cannot do it
    PATCHABLE_FIELD_CHANGED = "patchable-field-changed"  # unsubmitted job, changed by PATCH
    DRIFT_RESTORED = "drift-restored"  # changed outside rmapply, set back by PATCH
    SUBMIT_REQUESTED = "submit-requested"  # unsubmitted and submit = true
    COSMETIC_CHANGE = "cosmetic-change"  # only fields that do not re-run anything changed
    REMOVED_FROM_MANIFESTS = "removed-from-manifests"  # in the state, not in the manifests
    STILL_USED = "still-used"  # a removed workspace that jobs in the state still use
    FAILED_NOT_RETRIED = "failed-not-retried"  # failed or cancelled, retryFailed = false
    # pipelines: a job taking another job's outputs or cache (its upstream)
    WAITING_FOR_INPUTS = "waiting-for-inputs"  # submit waits until every upstream succeeded
    UPSTREAM_FAILED = "upstream-failed"  # an upstream failed or was cancelled: not submitted
    UPSTREAM_REPLACED = "upstream-replaced"  # an upstream is re-run: its outputs get new ids
    UNCHANGED = "unchanged"


class Retire(StrEnum):
    """What happens to the old job of a replacement, after the new job was created."""

    DELETE = "delete"  # unsubmitted old job: DELETE /jobs/{id} (nothing was spent)
    CANCEL = "cancel"  # active old job and --cancel-replaced: PATCH {"state": "Cancelled"}
    KEEP = "keep"  # left as it is (running or finished); its id moves to history


class CostSource(StrEnum):
    """Where a job's cost figure comes from."""

    SERVICE = "service"  # the service's estimatedCost for the same parameters
    ESTIMATE = "estimate"  # rmapply's local cost model
    UNKNOWN = "unknown"  # no costEstimationParameters


class JobCost(PlanValue):
    """The cost of a job that will run."""

    amount: float | None
    source: CostSource

    def describe(self) -> str:
        """``3.5 (service figure)``, ``3.5 (local estimate)`` or ``unknown``."""
        if self.amount is None:
            return "unknown (no costEstimationParameters)"
        label = "service figure" if self.source is CostSource.SERVICE else "local estimate"
        return f"{format_cost(self.amount)} ({label})"


class FieldChange(PlanValue):
    """One field-level difference, e.g. ``settings.quality: "Medium" -> "Extra"``."""

    path: str
    change: Literal["changed", "added", "removed"] = "changed"
    before: Any = None
    after: Any = None
    field_class: FieldClass


class Precondition(PlanValue):
    """What the action was computed under; apply re-checks it before sending anything."""

    in_state: bool
    remote_id: str | None = None
    # job state when planned (unsubmitted, active, ...); None for workspaces or when unknown
    state: str | None = None
    # where `state` comes from: a refresh now, the state file's last sighting, or a 404
    seen: Literal["refreshed", "last seen", "gone", "absent"] = "absent"
    digest: str | None = None  # the record's digest when planned

    def describe(self) -> str:
        """``absent from state`` or ``id 9a1f... (unsubmitted, refreshed)``."""
        if not self.in_state:
            return "absent from state"
        what = ", ".join(x for x in (self.state, self.seen) if x)
        return f"id {self.remote_id} ({what})"


# ``Upstream.state`` of a job this plan creates (or re-creates): it has no job state yet
NEW_UPSTREAM = "new"
# upstream states that let a downstream job be submitted, and those that never will
READY_STATES = frozenset({"success"})
FAILED_STATES = frozenset({"failed", "cancelled"})


class Upstream(PlanValue):
    """A job whose outputs or cache another job takes, as it was when planned."""

    address: AddressField
    state: str | None  # job state (``active``...), ``new`` when this plan creates it
    percentage: float | None = None

    @property
    def failed(self) -> bool:
        """True when it ended failed or cancelled (its downstream jobs are blocked)."""
        return self.state in FAILED_STATES

    def describe(self) -> str:
        """``jobs.calib (active, 35%)``, ``jobs.calib (new)``."""
        words = [self.state or "state unknown"]
        if self.percentage is not None and self.state not in READY_STATES:
            words.append(f"{format_cost(self.percentage)}%")
        return f"{self.address} ({', '.join(words)})"


def waits_sentence(upstreams: tuple[Upstream, ...]) -> str:
    """``waits for jobs.calib (active, 35%)`` or ``blocked, jobs.calib failed``."""
    failed = [u for u in upstreams if u.failed]
    if failed:
        return "blocked, " + ", ".join(f"{u.address} {u.state}" for u in failed)
    return "waits for " + ", ".join(u.describe() for u in upstreams)


class InputRef(PlanValue):
    """An input written as ``jobs.KEY.outputs.FORMAT`` whose id is known only after apply."""

    index: int  # in ``request.inputs``
    address: AddressField
    format: str

    @property
    def placeholder(self) -> str:
        """What the body holds until apply fills it: ``(known after apply) from jobs...``."""
        return f"{KNOWN_AFTER_APPLY} from {self.address}.outputs.{self.format}"


class Action(PlanValue):
    """Common fields of every action; the subclasses name what is done."""

    kind: Literal["job", "workspace"]
    action: ActionType
    address: AddressField
    reason_code: ReasonCode
    reasons: tuple[str, ...]
    precondition: Precondition
    before: dict[str, Any] | None = None  # the spec in state
    after: dict[str, Any] | None = None  # the desired spec, written to state once applied
    after_digest: str | None = None
    diff: tuple[FieldChange, ...] = ()
    cost: JobCost | None = None  # set on every action that makes a job run
    # the exact body of the action's main request; None for DELETE and for state-only actions
    request: Annotated[WireModel, _WireOut] | None = None

    def model_post_init(self, context: Any, /) -> None:
        """Refuse an action whose kind contradicts its address."""
        if (self.address.kind is ResourceKind.JOB) != (self.kind == "job"):
            raise ValueError(f"{self.address} is not a {self.kind}")

    @property
    def is_change(self) -> bool:
        """True unless this is a no-op."""
        return self.action is not ActionType.NOOP

    @property
    def waits(self) -> bool:
        """True for a submit that only waits for running upstream jobs: nothing to do now."""
        return self.reason_code is ReasonCode.WAITING_FOR_INPUTS

    @property
    def runs_job(self) -> bool:
        """True when applying this action starts a job (it may cost money)."""
        return self.cost is not None


def _check_body(name: str, body: JobPatch | None, expected: JobPatch | None) -> None:
    """Refuse a submit or cancel body other than the one apply sends for it."""
    if body != expected:
        shown = body.to_wire() if body is not None else None
        wanted = expected.to_wire() if expected is not None else None
        raise ValueError(f"{name} must be {wanted}, not {shown}")


class _Resolvable(Action):
    """A job creation whose workspace may be created by the same plan."""

    request: JobCreationBody
    workspace_ref: AddressField | None = None
    # useCache = "jobs.KEY" of a job created by this same plan: its id is the cache id
    cache_ref: AddressField | None = None
    submit: bool = False
    submit_request: JobPatchBody | None = None
    # inputs taken from jobs this plan creates: filled with their output ids by apply
    input_refs: tuple[InputRef, ...] = ()
    # the upstream jobs not in success when planned: the submit waits for them (or is blocked)
    waiting_for: tuple[Upstream, ...] = ()

    def model_post_init(self, context: Any, /) -> None:
        """Refuse a placeholder without its address (or the reverse) and a foreign submit."""
        super().model_post_init(context)
        problems = self.placeholder_problems()
        if problems:
            raise ValueError("; ".join(problems))
        _check_body("submit_request", self.submit_request, SUBMIT_PATCH if self.submit else None)

    def placeholder_problems(self) -> list[str]:
        """Where the body's ``(known after apply)`` placeholders and the addresses named to
        fill them disagree (a placeholder must be filled, and only a placeholder)."""
        problems = []
        for path, value, ref in (
            ("workspaceId", self.request.workspace_id, self.workspace_ref),
            ("settings.cacheSettings.useCache", self._use_cache(self.request), self.cache_ref),
        ):
            if (value == KNOWN_AFTER_APPLY) != (ref is not None):
                filler = f"the id of {ref}" if ref is not None else "no address"
                problems.append(f"{path} is {value!r} but the plan fills it with {filler}")
        refs = {item.index: item for item in self.input_refs}
        for index, given in enumerate(self.request.inputs):
            input_ref = refs.pop(index, None)
            if input_ref is None and given.id.startswith(KNOWN_AFTER_APPLY):
                problems.append(f"inputs[{index}].id is {given.id!r} but nothing fills it")
            elif input_ref is not None and given.id != input_ref.placeholder:
                problems.append(
                    f"inputs[{index}].id is {given.id!r} but the plan fills it with the output"
                    f" {input_ref.format} of {input_ref.address}"
                )
        problems.extend(f"inputRefs names inputs[{i}], which the body lacks" for i in refs)
        return problems

    def request_body(
        self,
        known_ids: Mapping[Address, str],
        known_outputs: Mapping[Address, Mapping[str, str]] | None = None,
    ) -> JobCreation:
        """The exact POST /jobs body the plan shows, each ``(known after apply)`` placeholder
        filled with the id ``known_ids`` holds for the address the plan names for it, and each
        input reference with the output id ``known_outputs`` holds for that job and format
        (the caller passes only the ids created earlier in the same apply)."""
        problems = self.placeholder_problems()
        if problems:
            raise PlanError(
                f"{self.address}: the plan's body does not match its placeholders: "
                + "; ".join(problems),
                hint="make the plan again with 'rmapply plan'",
            )
        body = self.request
        if self.workspace_ref is not None:
            body = body.model_copy(
                update={"workspace_id": self._known(known_ids, self.workspace_ref)}
            )
        if self.cache_ref is not None:
            cache_id = self._known(known_ids, self.cache_ref)
            settings = body.settings
            cache = settings.cache_settings
            assert cache is not None  # the placeholder is there (placeholder_problems)
            settings = settings.model_copy(
                update={"cache_settings": cache.model_copy(update={"use_cache": cache_id})}
            )
            body = body.model_copy(update={"settings": settings})
        if self.input_refs:
            inputs = list(body.inputs)
            for ref in self.input_refs:
                output_id = self._output(known_outputs or {}, ref)
                inputs[ref.index] = inputs[ref.index].model_copy(update={"id": output_id})
            body = body.model_copy(update={"inputs": inputs})
        return body

    def _output(self, known: Mapping[Address, Mapping[str, str]], ref: InputRef) -> str:
        outputs = known.get(ref.address)
        if outputs is None:
            self._known({}, ref.address)  # raises: that job was not created by this apply
            raise AssertionError  # pragma: no cover
        found = outputs.get(ref.format)
        if found is None:
            listed = ", ".join(sorted(outputs)) or "none"
            raise ApplyError(
                f"{self.address}: input {ref.address}.outputs.{ref.format}: the create answer"
                f" of {ref.address} lists no output {ref.format} (outputs: {listed});"
                " nothing was sent",
                hint=f"check that {ref.address} lists {ref.format} in settings.outputs, then"
                " run 'rmapply apply' again",
            )
        return found

    @staticmethod
    def _use_cache(body: JobCreation) -> str | None:
        cache = body.settings.cache_settings
        return cache.use_cache if cache is not None else None

    def _known(self, known_ids: Mapping[Address, str], ref: Address) -> str:
        try:
            return known_ids[ref]
        except KeyError:
            raise PlanError(
                f"{self.address}: the id of {ref} is not known yet: this apply has not"
                " created it (a placeholder takes only an id made by the same apply);"
                " nothing was sent",
                hint=f"apply {ref} first, then make the plan again",
            ) from None


class CreateWorkspace(Action):
    """POST /workspaces; ``previous_id`` is set when the old workspace vanished (404)."""

    kind: Literal["workspace"] = "workspace"
    action: Literal[ActionType.CREATE] = ActionType.CREATE
    request: WorkspaceCreationBody
    previous_id: str | None = None


class ReplaceWorkspace(Action):
    """POST /workspaces for a workspace that cannot be changed; the old one is kept remotely."""

    kind: Literal["workspace"] = "workspace"
    action: Literal[ActionType.REPLACE] = ActionType.REPLACE
    request: WorkspaceCreationBody
    old_remote_id: str


class DeleteWorkspace(Action):
    """DELETE /workspaces/{id} (no body)."""

    kind: Literal["workspace"] = "workspace"
    action: Literal[ActionType.DELETE] = ActionType.DELETE
    remote_id: str


class CreateJob(_Resolvable):
    """POST /jobs, then (``submit``) PATCH ``submit_request``; ``previous_id`` after a 404."""

    kind: Literal["job"] = "job"
    action: Literal[ActionType.CREATE] = ActionType.CREATE
    previous_id: str | None = None


class ReplaceJob(_Resolvable):
    """POST /jobs for the new job, (``submit``) submit it, then retire the old one."""

    kind: Literal["job"] = "job"
    action: Literal[ActionType.REPLACE] = ActionType.REPLACE
    old_remote_id: str
    old_state: str | None
    retire: Retire
    retire_request: JobPatchBody | None = None  # the cancel body when retire is CANCEL

    def model_post_init(self, context: Any, /) -> None:
        """Refuse a retire body other than the cancel apply sends (and only to cancel)."""
        super().model_post_init(context)
        expected = CANCEL_PATCH if self.retire is Retire.CANCEL else None
        _check_body("retire_request", self.retire_request, expected)


class UpdateJob(Action):
    """PATCH /jobs/{id} with ``request``, then (``submit``) PATCH ``submit_request``."""

    kind: Literal["job"] = "job"
    action: Literal[ActionType.UPDATE] = ActionType.UPDATE
    remote_id: str
    request: JobPatchBody
    submit: bool = False
    submit_request: JobPatchBody | None = None
    waiting_for: tuple[Upstream, ...] = ()

    def model_post_init(self, context: Any, /) -> None:
        """Refuse a submit body other than the one apply sends."""
        super().model_post_init(context)
        _check_body("submit_request", self.submit_request, SUBMIT_PATCH if self.submit else None)


class SubmitJob(Action):
    """PATCH /jobs/{id} ``{"state": "Active"}``; ``waiting_for`` names the upstream jobs not in
    success when planned (reasonCode ``waiting-for-inputs`` or ``upstream-failed``)."""

    kind: Literal["job"] = "job"
    action: Literal[ActionType.SUBMIT] = ActionType.SUBMIT
    remote_id: str
    request: JobPatchBody
    waiting_for: tuple[Upstream, ...] = ()

    def model_post_init(self, context: Any, /) -> None:
        """Refuse a submit body other than the one apply sends."""
        super().model_post_init(context)
        _check_body("request", self.request, SUBMIT_PATCH)


class DeleteJob(Action):
    """DELETE /jobs/{id} of an unsubmitted job (no body)."""

    kind: Literal["job"] = "job"
    action: Literal[ActionType.DELETE] = ActionType.DELETE
    remote_id: str


class Forget(Action):
    """Drop the record from state; with ``request`` (a cancel) PATCH it first."""

    action: Literal[ActionType.FORGET] = ActionType.FORGET
    remote_id: str
    request: JobPatchBody | None = None

    def model_post_init(self, context: Any, /) -> None:
        """Refuse a body other than the cancel apply sends before forgetting."""
        super().model_post_init(context)
        if self.request is not None:
            _check_body("request", self.request, CANCEL_PATCH)


class Record(Action):
    """Write ``after`` into the record without any API call."""

    action: Literal[ActionType.RECORD] = ActionType.RECORD
    remote_id: str


class NoOp(Action):
    """Nothing to do."""

    action: Literal[ActionType.NOOP] = ActionType.NOOP
    remote_id: str | None = None


ANY_ACTION_TYPES: tuple[type[Action], ...] = (
    CreateWorkspace,
    ReplaceWorkspace,
    DeleteWorkspace,
    CreateJob,
    ReplaceJob,
    UpdateJob,
    SubmitJob,
    DeleteJob,
    Forget,
    Record,
    NoOp,
)
