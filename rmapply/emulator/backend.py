"""The rules of the service: what each operation does to workspaces and jobs, and its answer."""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import TYPE_CHECKING, Any, NamedTuple

from rmapply.emulator import problems
from rmapply.emulator.lifecycle import (
    FAIL_MARKER,
    Schedule,
    SimClock,
    run_seconds,
    snapshot,
)
from rmapply.emulator.options import EmulatorOptions
from rmapply.emulator.problems import Detail, Problem
from rmapply.emulator.render import render_job_wire, to_datetime
from rmapply.emulator.storage import JobRow, Store, WorkspaceRow
from rmapply.emulator.validation import cost_amount_details, invalid_parameter, refuse
from rmapply.wire import (
    EnginesLimit,
    Job,
    JobPatch,
    JobProgress,
    JobState,
    PatchState,
    Workspace,
    WorkspaceCreation,
)

if TYPE_CHECKING:
    from rmapply.emulator.request_body import JobCreationHints
    from rmapply.wire import JobCreation

DEFAULT_CONTEXT_CAPTURE_VERSION = "2023.0"
CREATE_JOB = "Cannot create job."
MODIFY_JOB = "Cannot modify job."
DELETE_JOB = "Cannot delete job."
CREATE_WORKSPACE = "Cannot create workspace."


class Caller(NamedTuple):
    """Who sends a request: the email jobs are recorded under and the OAuth application."""

    email: str
    application: str


def is_guid(value: str) -> bool:
    """True for a 36-character hyphenated GUID."""
    if len(value) != 36:
        return False
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


class Backend:
    """Workspaces and jobs over a Store, with time from a SimClock."""

    def __init__(self, store: Store, clock: SimClock, options: EmulatorOptions) -> None:
        self.store = store
        self.clock = clock
        self.options = options
        self.max_engines = options.max_engines
        self._itwins = frozenset(i.lower() for i in options.itwins)

    # iTwins ------------------------------------------------------------------------------------
    def is_itwin(self, value: str) -> bool:
        """A well-formed GUID is an iTwin, unless an allow-list is configured."""
        return is_guid(value) and (not self._itwins or value.lower() in self._itwins)

    def engines(self, itwin_id: str | None) -> EnginesLimit:
        """GET /limits/engines."""
        if itwin_id is not None and not self.is_itwin(itwin_id):
            raise problems.itwin_not_found()
        return EnginesLimit(max_engines=self.max_engines)

    # workspaces --------------------------------------------------------------------------------
    def create_workspace(self, body: WorkspaceCreation) -> Workspace:
        """POST /workspaces."""
        if body.i_twin_id is not None and not self.is_itwin(body.i_twin_id):
            raise refuse(
                CREATE_WORKSPACE,
                [
                    Detail(
                        "InvalidParameter", "No processing cluster in project location.", "iTwinId"
                    )
                ],
            )
        row = WorkspaceRow(
            id=str(uuid.uuid4()),
            name=body.name,
            itwin_id=body.i_twin_id,
            cc_version=body.context_capture_version or DEFAULT_CONTEXT_CAPTURE_VERSION,
            created_ms=self.clock.now_ms(),
        )
        self.store.insert_workspace(row)
        return render_workspace(row)

    def get_workspace(self, workspace_id: str) -> Workspace:
        """GET /workspaces/{id}."""
        row = self.store.get_workspace(workspace_id)
        if row is None:
            raise problems.workspace_not_found()
        return render_workspace(row)

    def delete_workspace(self, workspace_id: str) -> None:
        """DELETE /workspaces/{id}: always allowed; its jobs stay readable by id."""
        if not self.store.delete_workspace(workspace_id):
            raise problems.workspace_not_found()

    def workspaces(self) -> list[Workspace]:
        """Every workspace, in creation order."""
        return [render_workspace(r) for r in self.store.workspaces()]

    # jobs --------------------------------------------------------------------------------------
    def create_refusal(self, problem: Problem, hints: JobCreationHints) -> Problem:
        """A create body's schema problems together with the rules checkable on what it holds."""
        extra = self._hint_details(hints)
        if extra and problem.details is not None:
            return replace(problem, details=problem.details + tuple(extra))
        return problem

    def create_job(self, caller: Caller, body: JobCreation) -> Job:
        """POST /jobs: a new unsubmitted job with one output id per requested format."""
        workspace = self.store.get_workspace(body.workspace_id)
        details = self._settings_details(
            body.settings.processing_engines, [o.value for o in body.settings.outputs], "settings"
        )
        details += cost_amount_details(body.cost_estimation_parameters)
        if workspace is None:
            details.insert(0, _unknown_workspace())
        if details:
            raise refuse(CREATE_JOB, details)
        assert workspace is not None
        now = self.clock.now_ms()
        settings = body.settings.to_wire()
        settings["outputs"] = [{"format": f, "id": str(uuid.uuid4())} for f in settings["outputs"]]
        doc: dict[str, Any] = {
            "name": body.name,
            "type": body.type.value,
            "location": self.options.location.value,
            "workspaceId": workspace.id,
            "email": caller.email,
            "inputs": [i.to_wire() for i in body.inputs],
            "jobSettings": settings,
        }
        if workspace.itwin_id is not None:
            doc["iTwinId"] = workspace.itwin_id
        if body.cost_estimation_parameters is not None:
            doc["costEstimationParameters"] = body.cost_estimation_parameters.to_wire()
        row = JobRow(str(uuid.uuid4()), caller.email, workspace.itwin_id, now, now, doc)
        self.store.insert_job(row)
        return self.render_job(row, now)

    def get_job(self, job_id: str) -> Job:
        """GET /jobs/{id}."""
        return self.render_job(self._job_row(job_id), self.clock.now_ms())

    def progress(self, job_id: str) -> JobProgress:
        """GET /jobs/{id}/progress."""
        row = self._job_row(job_id)
        snap = snapshot(row.schedule, self.clock.now_ms(), row.doc["type"] == "Calibration")
        return JobProgress(percentage=snap.percentage, state=snap.progress_state, step=snap.step)

    def require_job(self, job_id: str) -> None:
        """Raise the API's 404 unless the job exists (checked before its body is read)."""
        self._job_row(job_id)

    def patch_job(self, job_id: str, patch: JobPatch) -> Job:
        """PATCH /jobs/{id}: modify (unsubmitted only), submit or cancel."""
        with self.store.transaction():
            row = self._job_row(job_id)
            now = self.clock.now_ms()
            state = snapshot(row.schedule, now).state
            modifies = (
                patch.type is not None
                or patch.settings is not None
                or patch.cost_estimation_parameters is not None
            )
            if modifies and state is not JobState.UNSUBMITTED:
                raise problems.invalid_change(MODIFY_JOB, "Cannot modify an already submitted job.")
            if patch.state is PatchState.ACTIVE and state is not JobState.UNSUBMITTED:
                raise problems.invalid_change(
                    MODIFY_JOB, "Cannot resubmit an already submitted job."
                )
            if patch.state is PatchState.CANCELLED:
                _check_cancellable(state)
            cost_details = cost_amount_details(patch.cost_estimation_parameters)
            if cost_details:
                raise refuse(MODIFY_JOB, cost_details)
            if not modifies and patch.state is None:
                return self.render_job(row, now)
            doc = dict(row.doc)
            if patch.type is not None:
                doc["type"] = patch.type.value
            if patch.settings is not None:
                doc["jobSettings"] = self._patched_settings(doc["jobSettings"], patch)
            if patch.cost_estimation_parameters is not None:
                doc["costEstimationParameters"] = patch.cost_estimation_parameters.to_wire()
            row = row.with_(doc=doc, modified_ms=now)
            if patch.state is PatchState.ACTIVE:
                # imported here: only a submit checks readiness (a listing never does)
                from rmapply.emulator.readiness import submitted

                row = submitted(self.store, row, self._schedule(row, now), now)
            elif patch.state is PatchState.CANCELLED:
                row = row.with_(schedule=row.schedule._replace(cancelled_ms=now))
            self.store.update_job(row)
            return self.render_job(row, now)

    def delete_job(self, job_id: str) -> None:
        """DELETE /jobs/{id}: only while unsubmitted."""
        with self.store.transaction():
            row = self._job_row(job_id)
            if snapshot(row.schedule, self.clock.now_ms()).state is not JobState.UNSUBMITTED:
                raise problems.invalid_change(DELETE_JOB, "Cannot delete an already submitted job.")
            self.store.delete_job(job_id)

    def fail_job(self, job_id: str, message: str) -> None:
        """Make a job end ``failed`` when it runs (now, if it is running past its midpoint)."""
        with self.store.transaction():
            row = self.store.get_job(job_id)
            if row is None:
                raise KeyError(job_id)
            now = self.clock.now_ms()
            snap = snapshot(row.schedule, now)
            if snap.state.is_terminal:
                raise ValueError(f"job {job_id} is already {snap.state.value}")
            schedule = row.schedule
            if snap.state is JobState.ACTIVE:
                assert schedule.started_ms is not None and schedule.ends_ms is not None
                midpoint = schedule.started_ms + schedule.run_ms // 2
                ends = min(schedule.ends_ms, max(now, midpoint))
                schedule = schedule._replace(ends_ms=ends, outcome=JobState.FAILED)
            self.store.update_job(row.with_(schedule=schedule, fail_message=message))

    def find_job(self, job_id: str) -> Job | None:
        """One job as it is now, or None."""
        row = self.store.get_job(job_id)
        return None if row is None else self.render_job(row, self.clock.now_ms())

    def all_jobs(self) -> list[Job]:
        """Every job as it is now, in creation order."""
        now = self.clock.now_ms()
        return [self.render_job(r, now) for r in self.store.jobs()]

    # helpers -----------------------------------------------------------------------------------
    def _job_row(self, job_id: str) -> JobRow:
        row = self.store.get_job(job_id)
        if row is None:
            raise problems.job_not_found()
        return row

    def _schedule(self, row: JobRow, now: int) -> Schedule:
        cost = row.doc.get("costEstimationParameters") or {}
        fails = row.fail_message is not None or FAIL_MARKER in row.doc["name"].lower()
        run_s = run_seconds(cost.get("gigaPixels"), cost.get("megaPoints"))
        return Schedule.at_submission(now, run_s, fails)

    def _patched_settings(self, current: dict[str, Any], patch: JobPatch) -> dict[str, Any]:
        assert patch.settings is not None
        given = patch.settings.to_wire()
        formats = given.get("outputs")
        details = self._settings_details(given.get("processingEngines"), formats, "settings")
        if details:
            raise refuse(MODIFY_JOB, details)
        merged = {**current, **given}
        if formats is not None:
            # An output keeps its reality-data id while its format stays requested.
            ids = {o["format"]: o.get("id") for o in current.get("outputs", [])}
            merged["outputs"] = [
                {"format": f, "id": ids.get(f) or str(uuid.uuid4())} for f in formats
            ]
        return merged

    def _settings_details(
        self, engines: int | None, formats: list[str] | None, prefix: str
    ) -> list[Detail]:
        details: list[Detail] = []
        if engines is not None and not 0 <= engines <= self.max_engines:
            details.append(
                invalid_parameter(
                    "processingEngines",
                    f"{prefix}.processingEngines",
                    f"It must be between 0 and the engine limit ({self.max_engines}).",
                )
            )
        for index, fmt in enumerate(formats or []):
            if fmt in (formats or [])[:index]:
                details.append(
                    invalid_parameter(
                        "outputs", f"{prefix}.outputs[{index}]", f"'{fmt}' is requested twice."
                    )
                )
        return details

    def _hint_details(self, hints: JobCreationHints) -> list[Detail]:
        details: list[Detail] = []
        if hints.workspace_id is not None and self.store.get_workspace(hints.workspace_id) is None:
            details.append(_unknown_workspace())
        if hints.processing_engines is not None:
            details += self._settings_details(hints.processing_engines, None, "settings")
        return details

    def render_job(self, row: JobRow, now_ms: int) -> Job:
        """The job as the API shows it at ``now_ms``."""
        return Job.model_validate(render_job_wire(row, now_ms))


def render_workspace(row: WorkspaceRow) -> Workspace:
    """The workspace as the API shows it."""
    return Workspace(
        id=row.id,
        created_date_time=to_datetime(row.created_ms),
        name=row.name,
        i_twin_id=row.itwin_id,
        context_capture_version=row.cc_version,
    )


def _unknown_workspace() -> Detail:
    return invalid_parameter("workspaceId", "workspaceId", "The workspace does not exist.")


def _check_cancellable(state: JobState) -> None:
    if state is JobState.UNSUBMITTED:
        raise problems.invalid_change(MODIFY_JOB, "Cannot cancel a job that was not submitted.")
    if state is JobState.CANCELLED:
        raise problems.invalid_change(MODIFY_JOB, "Cannot cancel an already cancelled job.")
    if state.is_terminal:
        raise problems.invalid_change(MODIFY_JOB, "Cannot cancel a job that is already over.")
