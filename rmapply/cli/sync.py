"""``rmapply refresh`` and ``rmapply import``: bring the state in line with what exists remotely."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from rmapply.apply.recording import job_record, workspace_record
from rmapply.cli.local import open_endpoint
from rmapply.cli.options import dir_option, endpoint_options, parse_vars, var_options
from rmapply.errors import ConfigError, NotFoundError, PlanError
from rmapply.model import (
    Address,
    DesiredJob,
    DesiredWorkspace,
    FieldClass,
    ResourceKind,
    classify_job_field,
)
from rmapply.plan import ChangeCategory
from rmapply.plan.diff import spec_diff
from rmapply.plan.drift import job_projection
from rmapply.project import Project
from rmapply.refresh import accept_remote_changes, refresh, remote_changes
from rmapply.state import ResourceRecord

LOCK_HELP = "Wait up to SECONDS for another rmapply holding the state lock."


@click.command("refresh")
@dir_option
@endpoint_options
@click.option(
    "--lock-timeout", type=click.FloatRange(min=0), default=0.0, metavar="SECONDS", help=LOCK_HELP
)
@click.option(
    "--parallelism",
    type=click.IntRange(1, 64),
    default=None,
    help="Concurrent API calls (default: [apply] parallelism).",
)
def refresh_command(
    directory: Path,
    endpoint: str | None,
    local: bool,
    lock_timeout: float,
    parallelism: int | None,
) -> None:
    """Update the state from the API only: job states, outputs, and what no longer exists."""
    project = Project.load(directory)
    with (
        open_endpoint(project, endpoint, local) as chosen,
        project.client(chosen, parallelism=parallelism) as client,
        project.store.lock("refresh", lock_timeout) as session,
    ):
        document = session.document
        seen = refresh(
            client,
            document,
            itwin_id=project.config.itwin_id,
            parallelism=parallelism or project.config.apply.parallelism,
        )
        changes = remote_changes(document, seen.view)
        for change in changes:
            marker = "-" if change.category is ChangeCategory.GONE else "~"
            click.echo(f"{marker} {change.address} ({change.remote_id}): {change.message}")
        for problem in seen.problems:
            click.secho(f"warning: {problem}", err=True, fg="yellow")
        if changes:
            session.save(accept_remote_changes(document, changes, now=datetime.now(UTC)))
        noun = "change" if len(changes) == 1 else "changes"
        click.echo(f"Refresh: {len(changes)} remote {noun} accepted into state.")


@click.command("import")
@dir_option
@var_options
@endpoint_options
@click.option(
    "--lock-timeout", type=click.FloatRange(min=0), default=0.0, metavar="SECONDS", help=LOCK_HELP
)
@click.argument("address")
@click.argument("remote_id")
def import_command(
    directory: Path,
    var_files: tuple[Path, ...],
    cli_vars: tuple[str, ...],
    endpoint: str | None,
    local: bool,
    lock_timeout: float,
    address: str,
    remote_id: str,
) -> None:
    """Adopt the existing job or workspace REMOTE_ID as ADDRESS, checked against its manifest."""
    project = Project.load(directory)
    try:
        target = Address.parse(address)
    except ValueError as exc:
        raise ConfigError(str(exc), hint="addresses look like 'jobs.site-a'") from exc
    loaded = project.manifests(var_files=var_files, cli_vars=parse_vars(cli_vars))
    resource = loaded.desired.get(target)
    if resource is None:
        raise PlanError(
            f"{address} is not in the manifests of {directory}",
            hint="write its manifest first, then import the existing object under its key",
        )
    now = datetime.now(UTC)
    with (
        open_endpoint(project, endpoint, local) as chosen,
        project.client(chosen) as client,
        project.store.lock("import", lock_timeout) as session,
    ):
        document = session.document
        existing = document.resources.get(address)
        if existing is not None and existing.remote_id != remote_id:
            raise PlanError(
                f"{address} is already in state as {existing.remote_id}",
                hint=f"'rmapply state rm {address}' first if {remote_id} should replace it",
            )
        try:
            if isinstance(resource, DesiredWorkspace):
                workspace = client.get_workspace(remote_id)
                record = workspace_record(
                    address,
                    workspace,
                    spec=resource.spec.to_wire(),
                    spec_digest=resource.digest,
                    now=now,
                )
            else:
                job = client.get_job(remote_id)
                _check_job(resource, job.to_wire(), document.resources)
                record = job_record(
                    address,
                    job,
                    spec=resource.spec.to_wire(),
                    spec_digest=resource.digest,
                    now=now,
                )
        except NotFoundError as exc:
            kind = "workspace" if target.kind is ResourceKind.WORKSPACE else "job"
            raise PlanError(
                f"there is no {kind} {remote_id} at {chosen.url}",
                hint="check the id (and --endpoint)",
            ) from exc
        if address in document.pending:
            session.journal.resolve(address, upsert=record, now=now)
        else:
            resources = dict(document.resources)
            resources[address] = record
            session.save(document.model_copy(update={"resources": resources}))
    click.echo(f"Imported {remote_id} as {address}.")


def _check_job(
    resource: DesiredJob, remote: dict[str, Any], records: Mapping[str, ResourceRecord]
) -> None:
    """Refuse a job that computes something other than its manifest says; warn on the rest."""
    desired = resource.spec.to_creation(_workspace_id(resource, remote, records)).to_wire()
    actual = job_projection(remote)
    changes = spec_diff(desired, actual, classify_job_field)
    rerun = [c for c in changes if c.field_class is FieldClass.RERUN]
    for change in changes:
        if change.field_class is not FieldClass.RERUN:
            click.secho(
                f"warning: {resource.address}: {change.path} differs "
                f"(manifest {change.before!r}, job {change.after!r})",
                err=True,
                fg="yellow",
            )
    if rerun:
        lines = "\n".join(f"  {c.path}: manifest {c.before!r}, job {c.after!r}" for c in rerun)
        raise PlanError(
            f"job {remote.get('id')} does not compute what {resource.address} describes "
            f"({resource.source}):\n{lines}",
            hint="make the manifest describe the job (or import another job)",
        )


def _workspace_id(
    resource: DesiredJob, remote: dict[str, Any], records: Mapping[str, ResourceRecord]
) -> str:
    if resource.spec.workspace_id:
        return resource.spec.workspace_id
    record = records.get(f"workspaces.{resource.spec.workspace}")
    return record.remote_id if record else str(remote.get("workspaceId", ""))


COMMANDS: list[click.Command] = [refresh_command, import_command]
