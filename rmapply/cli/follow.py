"""``rmapply status`` and ``rmapply wait``: look at the jobs in state, follow them until they end,
and say where each pipeline stage still to submit stands (see docs/apply.md, "Waiting")."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import click

from rmapply.apply.client_bridge import ClientEventBridge
from rmapply.apply.pipeline_status import (
    job_specs,
    recorded_stages,
    upstreams_needed,
    with_inputs,
)
from rmapply.apply.summary import ApplySummary
from rmapply.apply.watch import collect_status, job_records, wait_from_store
from rmapply.cli.apply import (
    _finish,
    _lock_timeout,
    _parallelism,
    _poll_scale,
    _schedule,
    _still_running,
)
from rmapply.cli.apply_printer import EventPrinter, open_printer, print_status
from rmapply.cli.formats import format_option, json_alias_option, wants_json
from rmapply.cli.local import open_endpoint
from rmapply.cli.options import (
    dir_option,
    endpoint_options,
    ignore_previous_state_option,
    load_project,
    retry_budget_option,
)
from rmapply.errors import ApiError, ApplyError, ManifestError
from rmapply.model import DesiredJob, DesiredState
from rmapply.project import Project
from rmapply.refresh import stop_error


@click.command("status")
@click.argument("addresses", nargs=-1)
@dir_option
@endpoint_options
@_parallelism
@ignore_previous_state_option
@retry_budget_option
@format_option
@json_alias_option
def status_command(
    addresses: tuple[str, ...],
    directory: Path,
    endpoint: str | None,
    local: bool,
    parallelism: int | None,
    ignore_previous_state: bool,
    retry_budget: float | None,
    fmt: str,
    json_alias: bool,
) -> None:
    """Show the live state of the jobs in state (or of ADDRESS...), read from the service."""
    json_lines = wants_json(fmt, json_alias)
    project = load_project(directory, ignore_previous_state)
    specs = job_specs(_desired_or_none(project, "status"))
    with (
        open_endpoint(project, endpoint, local) as chosen,
        project.client(chosen, retry_budget=retry_budget) as client,
    ):
        document = project.store.load()  # after open_endpoint: the state of this endpoint
        records = job_records(document, addresses)
        shown = {r.address for r in records}
        # a pipeline stage's upstream jobs are read along, to say how far they are
        extra = [
            a for a in upstreams_needed(specs, shown) if a not in shown and a in document.resources
        ]
        if extra:  # (no address names every job)
            records += job_records(document, extra)
        rows = collect_status(records, client, parallelism=parallelism or 8)
    rows = [row for row in with_inputs(rows, specs) if row.address in shown]
    print_status(rows, document, json_lines=json_lines)
    unread = [row for row in rows if row.unread]
    if unread:
        raise ApiError(
            f"status: {len(unread)} of {len(rows)} job(s) could not be read from {chosen.url}: "
            + ", ".join(row.address for row in unread),
            hint="check the endpoint and the network, and run 'rmapply status' again",
        )


@click.command("wait")
@click.argument("addresses", nargs=-1)
@dir_option
@endpoint_options
@click.option(
    "--timeout",
    type=click.FloatRange(min=0),
    default=None,
    metavar="SECONDS",
    help="Stop waiting after SECONDS (the jobs keep running; exit 1).",
)
@_parallelism
@_poll_scale
@_lock_timeout
@ignore_previous_state_option
@retry_budget_option
@format_option
@json_alias_option
def wait_command(
    addresses: tuple[str, ...],
    directory: Path,
    endpoint: str | None,
    local: bool,
    timeout: float | None,
    parallelism: int | None,
    poll_scale: float | None,
    lock_timeout: float,
    ignore_previous_state: bool,
    retry_budget: float | None,
    fmt: str,
    json_alias: bool,
) -> int:
    """Wait for the running jobs in state (or ADDRESS...) to succeed, fail or be cancelled."""
    json_lines = wants_json(fmt, json_alias)
    project = load_project(directory, ignore_previous_state)
    specs = job_specs(_desired_or_none(project, "wait"))
    with (
        open_printer(json_lines) as printer,
        open_endpoint(project, endpoint, local) as chosen,
        project.client(
            chosen, on_event=ClientEventBridge(printer), retry_budget=retry_budget
        ) as client,
    ):
        outcome, not_running = wait_from_store(
            project.store,
            client,
            list(addresses),
            schedule=_schedule(poll_scale, chosen),
            parallelism=parallelism or project.config.apply.parallelism,
            timeout=timeout,
            on_event=printer,
            now=_utcnow,
            lock_timeout=max(lock_timeout, 60.0),
        )
        _report_stages(printer, project, specs, not_running)
        stopped = stop_error(list(outcome.failed.values()), chosen.url)
        if stopped is not None:
            raise stopped
        summary = ApplySummary(
            job_states={a: j.state.value for a, j in outcome.settled.items()},
            still_running=tuple(outcome.running),
            interrupted=outcome.interrupted,
        )
        code = _finish(printer, summary, waiting=True)
        if outcome.failed:
            first = next(iter(outcome.failed.items()))
            raise ApplyError(
                f"{len(outcome.failed)} job(s) could not be read: {first[0]}: {first[1].message}",
                summary=summary.to_json(),
                hint="run 'rmapply status' to see them",
            )
        if outcome.running and not outcome.interrupted and timeout is not None:
            raise _still_running(summary, timeout)
        return code


def _report_stages(
    printer: EventPrinter, project: Project, specs: dict[str, DesiredJob], not_running: list[str]
) -> None:
    """After a wait: each job that was not running, and for a pipeline stage still to submit,
    where its inputs stand now (a ``job_inputs`` record in JSON)."""
    document = project.store.load()  # with the final states the wait recorded
    records = job_records(document, not_running)
    stages = dict(
        (record.address, (record, inputs))
        for record, inputs in recorded_stages(records, document, specs)
    )
    for address in not_running:
        stage = stages.get(address)
        if stage is None:
            if not printer.json_lines:
                printer.echo(f"{address}: not running (see 'rmapply status')")
            continue
        record, inputs = stage
        if printer.json_lines:
            printer.data(
                {
                    "event": "job_inputs",
                    "address": address,
                    "jobId": record.remote_id,
                    "state": record.job_state,
                    **inputs.to_json(),
                }
            )
        else:
            printer.echo(f"{address}: {record.job_state}, {inputs.text()}")


def _desired_or_none(project: Project, command: str) -> DesiredState | None:
    """The manifests' desired state with the default variables, to show pipeline stages; None
    (and a note on stderr) when they cannot be read: the jobs are shown without their chain."""
    try:
        return project.manifests().desired
    except ManifestError as exc:
        first = exc.message.splitlines()[0]
        click.echo(
            f"Note: {command} shows no pipeline chain: the manifests could not be read ({first});"
            " 'rmapply validate' lists the problems",
            err=True,
        )
        return None


_utcnow: Callable[[], datetime] = lambda: datetime.now(UTC)  # noqa: E731

COMMANDS: list[click.Command] = [status_command, wait_command]
