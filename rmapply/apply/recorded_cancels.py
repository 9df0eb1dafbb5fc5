"""Cancels of replaced jobs that an earlier apply asked for (--cancel-replaced) and could not
carry out (budget hold, Ctrl-C, kill): recorded on the history entry, done by a later apply."""

from __future__ import annotations

import functools
from collections.abc import Mapping

from rmapply.apply import steps
from rmapply.apply.recording import requested_cancels
from rmapply.apply.schedule import Task
from rmapply.apply.step_context import StepContext
from rmapply.plan.actions import Action, ReplaceJob
from rmapply.wire import JobState


def recorded_cancel_tasks(
    ctx: StepContext, planned: Mapping[str, Action], submitting: set[str]
) -> list[Task]:
    """A task per recorded cancel, each once its replacement is submitted: after this
    apply's submit of it, or at once; none while the replacement is not submitted yet."""
    tasks = []
    recorder = ctx.recorder
    for address, old_id in requested_cancels(recorder.snapshot()):
        action = planned.get(address)
        if isinstance(action, ReplaceJob) and action.old_remote_id == old_id:
            continue  # this apply's own cancel task does it
        record = recorder.record(address)
        if address in submitting:
            after = frozenset({f"submit:{address}"})
        elif record is not None and record.job_state not in (None, JobState.UNSUBMITTED):
            after = frozenset()
        else:
            continue  # its replacement is not submitted yet: the cancel waits for it
        run = functools.partial(steps.cancel_old_job, ctx, address, old_id)
        tasks.append(Task(f"cancel:{address}:{old_id}", address, "cancel", run, after))
    return tasks
