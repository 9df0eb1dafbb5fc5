"""Plan actions: frozen values with reasons, the precondition they were computed under and the
exact request body (see docs/plan.md)."""

# Annotations are objects here, not strings (no ``from __future__ import annotations``):
# pydantic would compile and evaluate each string of each model class at import.

from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any, Literal

from rmapply.errors import ApplyError, PlanError
from rmapply.lazy_exports import exported_on_first_use
from rmapply.model import Address, ResourceKind
from rmapply.plan.values import (
    CANCEL_PATCH,
    FAILED_STATES,
    GONE,
    KNOWN_AFTER_APPLY,
    NEW_UPSTREAM,
    READY_STATES,
    SUBMIT_PATCH,
    ActionType,
    AddressField,
    CostSource,
    FieldDiff,
    InputRef,
    JobCost,
    JobCreationBody,
    JobPatchBody,
    PlanValue,
    Precondition,
    ReasonCode,
    Retire,
    Upstream,
    WorkspaceCreationBody,
    _WireOut,
    format_cost,
    trusted,
    waits_sentence,
)
from rmapply.wire import JobPatch, WireModel

if TYPE_CHECKING:
    from rmapply.plan.changes import (
        ANY_ACTION_TYPES,
        CreateJob,
        CreateWorkspace,
        DeleteJob,
        DeleteWorkspace,
        Forget,
        ReplaceWorkspace,
        SubmitJob,
    )
    from rmapply.wire import JobCreation


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
    diff: tuple[FieldDiff, ...] = ()
    cost: JobCost | None = None  # set on every action that makes a job run
    # the exact body of the action's main request; None for DELETE and for state-only actions
    request: Annotated[WireModel, _WireOut] | None = None

    def model_post_init(self, context: Any, /) -> None:
        """Refuse an action whose kind contradicts its address."""
        if (self.address.kind is ResourceKind.JOB) != (self.kind == "job"):
            raise ValueError(f"{self.address} is not a {self.kind}")

    @property
    def does_something(self) -> bool:
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
    ) -> "JobCreation":
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
    def _use_cache(body: "JobCreation") -> str | None:
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


class Record(Action):
    """Write ``after`` into the record without any API call."""

    action: Literal[ActionType.RECORD] = ActionType.RECORD
    remote_id: str


class NoOp(Action):
    """Nothing to do."""

    action: Literal[ActionType.NOOP] = ActionType.NOOP
    remote_id: str | None = None


# The actions that change something are created on first use (rmapply.plan.changes): a no-op
# plan never needs them. They are still imported from here (PEP 562).
_CHANGES = frozenset(
    (
        "ANY_ACTION_TYPES",
        "CreateJob",
        "CreateWorkspace",
        "DeleteJob",
        "DeleteWorkspace",
        "Forget",
        "ReplaceWorkspace",
        "SubmitJob",
    )
)

if not TYPE_CHECKING:  # mypy sees the imports above
    __getattr__ = exported_on_first_use(
        __name__, dict.fromkeys(_CHANGES, "rmapply.plan.changes"), globals()
    )


# the plan's values are re-exported: actions and the values they carry are imported from here
__all__ = [
    "ANY_ACTION_TYPES",
    "CANCEL_PATCH",
    "FAILED_STATES",
    "GONE",
    "KNOWN_AFTER_APPLY",
    "NEW_UPSTREAM",
    "READY_STATES",
    "SUBMIT_PATCH",
    "Action",
    "ActionType",
    "AddressField",
    "CostSource",
    "CreateJob",
    "CreateWorkspace",
    "DeleteJob",
    "DeleteWorkspace",
    "FieldDiff",
    "Forget",
    "InputRef",
    "JobCost",
    "JobCreationBody",
    "JobPatchBody",
    "NoOp",
    "PlanValue",
    "Precondition",
    "ReasonCode",
    "Record",
    "ReplaceJob",
    "ReplaceWorkspace",
    "Retire",
    "SubmitJob",
    "UpdateJob",
    "Upstream",
    "WorkspaceCreationBody",
    "format_cost",
    "trusted",
    "waits_sentence",
]
