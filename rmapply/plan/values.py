"""The plan's plain values: reason codes, costs, field changes, preconditions, and what a
pipeline's downstream job waits for (see docs/plan.md)."""

# Annotations are objects here, not strings (no ``from __future__ import annotations``):
# pydantic would compile and evaluate each string of each model class at import.

import importlib
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    GetCoreSchemaHandler,
    PlainSerializer,
    PlainValidator,
    WithJsonSchema,
)
from pydantic_core import CoreSchema

from rmapply.model import Address, FieldClass
from rmapply.plan.remote import Sighting
from rmapply.wire import JobPatch, PatchState, WorkspaceCreation
from rmapply.wire.aliases import camel_alias

# Shown (and sent nowhere) in place of an id that exists only once an earlier action of the
# same apply created it: a workspace's id (workspaceId) or a job's cache id (useCache).
KNOWN_AFTER_APPLY = "(known after apply)"
# The only bodies apply sends to submit and to cancel a job: a plan can show no other.
# Constructed, not validated: a no-op plan then never builds JobPatch's validator (5 ms).
SUBMIT_PATCH = JobPatch.model_construct(state=PatchState.ACTIVE)
CANCEL_PATCH = JobPatch.model_construct(state=PatchState.CANCELLED)
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


def made_later(module: str, name: str) -> Any:
    """A stand-in for the type ``module.name`` in a model's fields: that type (and the classes it
    names) is imported when that model's schema is built (to validate, dump or describe it), not
    at import: a no-op plan is built without validation (``trusted``) and never needs them. The
    schema is the type's own."""

    def schema(source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return handler.generate_schema(getattr(importlib.import_module(module), name))

    return type(name, (), {"__get_pydantic_core_schema__": staticmethod(schema)})


if TYPE_CHECKING:
    from rmapply.wire import JobCreation
else:  # a plan that creates no job never makes the class (rmapply.wire.job_creation)
    JobCreation = made_later("rmapply.wire", "JobCreation")
JobCreationBody = Annotated[JobCreation, _WireOut]
JobPatchBody = Annotated[JobPatch, _WireOut]
WorkspaceCreationBody = Annotated[WorkspaceCreation, _WireOut]


_Model = TypeVar("_Model", bound=BaseModel)
_REQUIRED = object()  # stands for a field without a default in _FIELDS
# every field of a model in declaration order with its default (or _REQUIRED), the required
# ones, and whether it has a model_post_init (class attributes of a model are slow to read)
_FIELDS: dict[type[BaseModel], tuple[dict[str, Any], frozenset[str], bool]] = {}
_new = object.__new__  # BaseModel has no __new__ of its own
_set = object.__setattr__


def trusted(cls: type[_Model], /, **values: Any) -> _Model:
    """``cls(**values)`` for values the planner built itself and that are already of the field
    types (the very objects validation would keep), without validating them again: validation
    costs more than the rest of planning an unchanged job, and a no-op plan then never builds
    the validators of its actions. The result equals the validated one (tests compare them);
    ``model_post_init`` still runs. Fields with a default factory are not supported."""
    known = _FIELDS.get(cls)
    if known is None:
        known = _FIELDS[cls] = _fields_of(cls)
    fields, required, post_init = known
    data = fields.copy()
    data.update(values)
    if len(data) != len(fields) or not values.keys() >= required:
        unknown = sorted(set(values) - set(fields))
        missing = sorted(required - values.keys())
        raise TypeError(f"{cls.__name__}: unknown fields {unknown}, missing fields {missing}")
    model = _new(cls)
    # what model_construct sets (its loop over the fields in Python costs as much as validating)
    _set(model, "__dict__", data)
    _set(model, "__pydantic_fields_set__", set(values))
    _set(model, "__pydantic_extra__", None)
    _set(model, "__pydantic_private__", None)
    if post_init:
        model.model_post_init(None)
    return model


def _fields_of(cls: type[BaseModel]) -> tuple[dict[str, Any], frozenset[str], bool]:
    fields: dict[str, Any] = {}
    for name, info in cls.model_fields.items():
        if info.default_factory is not None:
            raise TypeError(f"{cls.__name__}.{name} has a default factory")
        fields[name] = _REQUIRED if info.is_required() else info.default
    required = frozenset(k for k, v in fields.items() if v is _REQUIRED)
    return fields, required, bool(cls.__pydantic_post_init__)


def format_cost(amount: float) -> str:
    """A cost with at most two decimals and no trailing zeros: ``12.5``, ``3``, ``0.05``."""
    return f"{amount:.2f}".rstrip("0").rstrip(".")


class PlanValue(BaseModel):
    """Base of the plan's values: frozen, strict about unknown fields, camelCase in JSON."""

    # the API's dialect: dumped with by_alias=True (plan JSON, plan files); built by field name
    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        alias_generator=camel_alias,
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


class FieldDiff(PlanValue):
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
    seen: Sighting = Sighting.ABSENT
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
