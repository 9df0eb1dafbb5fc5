"""``rmapply refresh`` and ``rmapply import``: bring the state in line with what exists remotely."""

from __future__ import annotations

import difflib
import shlex
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

import click

from rmapply.apply.recording import job_record, workspace_record
from rmapply.apply.recovery import resolve_pending
from rmapply.cli.apply_printer import EventPrinter, report_resolutions
from rmapply.cli.local import open_endpoint
from rmapply.cli.options import (
    allow_mass_removal_option,
    dir_option,
    endpoint_options,
    ignore_previous_state_option,
    load_project,
    lock_timeout_option,
    parse_vars,
    retry_budget_option,
    use_color,
    var_options,
)
from rmapply.errors import ApiError, ConfigError, NotFoundError, PlanError
from rmapply.model import Address, DesiredState, DesiredWorkspace, ResourceKind
from rmapply.plan import RemoteChangeCategory
from rmapply.plan.adopt import adopt_job, adopt_workspace
from rmapply.project import Project
from rmapply.refresh import (
    accept_remote_changes,
    check_mass_removal,
    refresh,
    remote_changes,
)
from rmapply.state import ResourceRecord
from rmapply.wire import Job, Workspace


@click.command("refresh")
@dir_option
@endpoint_options
@lock_timeout_option()
@click.option(
    "--parallelism",
    type=click.IntRange(1, 64),
    default=None,
    help="Concurrent API calls (default: [apply] parallelism).",
)
@ignore_previous_state_option
@allow_mass_removal_option
@retry_budget_option
def refresh_command(
    directory: Path,
    endpoint: str | None,
    local: bool,
    lock_timeout: float,
    parallelism: int | None,
    ignore_previous_state: bool,
    allow_mass_removal: bool,
    retry_budget: float | None,
) -> None:
    """Update the state from the API only: job states, outputs, and what no longer exists.

    A resource leaves the state only when a GET of its own id answered 404 with the API's
    not-found code; what could not be read is left as it was (exit 1).
    """
    project = load_project(directory, ignore_previous_state)
    with (
        open_endpoint(project, endpoint, local) as chosen,
        project.client(chosen, parallelism=parallelism, retry_budget=retry_budget) as client,
        project.store.lock("refresh", lock_timeout) as session,
    ):
        now = datetime.now(UTC)
        # requests of unknown outcome from an earlier apply are settled first, as apply does
        report_resolutions(
            EventPrinter(sys.stdout, json_lines=False, live=False),
            resolve_pending(session, client, now, margin=project.config.api.in_flight_margin),
        )
        document = session.document
        seen = refresh(
            client,
            document,
            itwin_id=project.config.itwin_id,
            parallelism=parallelism or project.config.apply.parallelism,
        )
        check_mass_removal(document, seen, allowed=allow_mass_removal)
        project.bind_read_back(session, seen)  # an unbound state whose ids were read back
        document = session.document
        changes = remote_changes(document, seen.view)
        for change in changes:
            if change.category is RemoteChangeCategory.GONE:
                proof = seen.proofs[change.remote_id]
                where = f"{change.address} ({change.remote_id})"
                click.echo(f"- {where}: {change.message}; proof: {proof}")
            else:
                click.echo(f"~ {change.address} ({change.remote_id}): {change.message}")
        for problem in seen.problems:
            click.secho(
                f"warning: {problem}", err=True, fg="yellow", color=use_color(False, sys.stderr)
            )
        if changes:
            session.save(accept_remote_changes(document, changes, now=now))
        noun = "change" if len(changes) == 1 else "changes"
        click.echo(f"Refresh: {len(changes)} remote {noun} accepted into state.")
        if any(change.category is RemoteChangeCategory.GONE for change in changes):
            _say_where_the_state_before_is(project, directory, local)
        if seen.unread:
            raise ApiError(
                f"refresh: {len(seen.unread)} resource(s) could not be read; their records were "
                "left as they were:\n" + "\n".join(f"  {problem}" for problem in seen.unread),
                hint="run 'rmapply refresh' again when the service answers",
            )


def _say_where_the_state_before_is(project: Project, directory: Path, local: bool) -> None:
    """After a removal: the dated version kept before this command's write, and how to undo."""
    kept = [v for v in project.store.versions() if v.name != "backup"]
    if not kept:
        return
    newest = max(kept, key=lambda version: version.kept_at)
    where = "" if directory == Path(".") else f" -C {shlex.quote(str(directory))}"
    flag = " --local" if local else ""
    click.echo(
        f"The state before this refresh is kept as {newest.path}; to undo: 'rmapply state "
        f"restore{where}{flag} {newest.name}'."
    )


@click.command("import")
@dir_option
@var_options
@endpoint_options
@lock_timeout_option()
@ignore_previous_state_option
@retry_budget_option
@click.argument("address")
@click.argument("remote_id")
def import_command(
    directory: Path,
    var_files: tuple[Path, ...],
    cli_vars: tuple[str, ...],
    endpoint: str | None,
    local: bool,
    lock_timeout: float,
    ignore_previous_state: bool,
    retry_budget: float | None,
    address: str,
    remote_id: str,
) -> None:
    """Adopt the existing job or workspace REMOTE_ID as ADDRESS, checked against its manifest."""
    project = load_project(directory, ignore_previous_state)
    try:
        target = Address.parse(address)
    except ValueError as exc:
        raise ConfigError(str(exc), hint="addresses look like 'jobs.site-a'") from exc
    loaded = project.manifests(var_files=var_files, cli_vars=parse_vars(cli_vars))
    resource = loaded.desired.get(target)
    if resource is None:
        raise _not_in_manifests(str(target), directory, loaded.desired)
    now = datetime.now(UTC)
    with (
        open_endpoint(project, endpoint, local) as chosen,
        project.client(chosen, retry_budget=retry_budget) as client,
        project.store.lock("import", lock_timeout) as session,
    ):
        document = session.document
        _check_free(str(target), remote_id, document.resources)
        kind = "workspace" if target.kind is ResourceKind.WORKSPACE else "job"
        try:
            remote = (
                client.get_workspace(remote_id)
                if isinstance(resource, DesiredWorkspace)
                else client.get_job(remote_id)
            )
        except NotFoundError as exc:
            raise PlanError(
                f"there is no {kind} {remote_id} at {chosen.url}",
                hint=f"check the id, and the endpoint (chosen by {chosen.source})",
            ) from exc
        if isinstance(resource, DesiredWorkspace):
            assert isinstance(remote, Workspace)
            adoption = adopt_workspace(resource, remote.to_wire(), project.config.itwin_id)
            record = workspace_record(
                str(target), remote, spec=adoption.spec, spec_digest=adoption.digest, now=now
            )
        else:
            assert isinstance(remote, Job)
            adoption = adopt_job(resource, remote.to_wire(), document.resources)
            record = job_record(
                str(target), remote, spec=adoption.spec, spec_digest=adoption.digest, now=now
            )
        for note in adoption.notes:
            click.secho(
                f"warning: {target}: {note}",
                err=True,
                fg="yellow",
                color=use_color(False, sys.stderr),
            )
        if str(target) in document.pending:
            session.journal.resolve(str(target), upsert=record, now=now)
        else:
            resources = dict(document.resources)
            resources[str(target)] = record
            session.save(document.model_copy(update={"resources": resources}))
    click.echo(f"Imported {kind} {remote_id} as {target}.")


def _not_in_manifests(address: str, directory: Path, desired: DesiredState) -> PlanError:
    known = [str(r.address) for r in desired]
    close = difflib.get_close_matches(address, known, n=1)
    guess = f"did you mean {close[0]!r}? " if close else ""
    return PlanError(
        f"{address} is not in the manifests of {directory}",
        hint=f"{guess}write its manifest first, then import the existing object under its key",
    )


def _check_free(address: str, remote_id: str, records: Mapping[str, ResourceRecord]) -> None:
    """Refuse to import over another id, or an id another address already manages."""
    existing = records.get(address)
    if existing is not None and existing.remote_id != remote_id:
        raise PlanError(
            f"{address} is already in state as {existing.remote_id}",
            hint=f"'rmapply state rm {address}' first if {remote_id} should replace it",
        )
    for other, record in sorted(records.items()):
        if other != address and record.remote_id == remote_id:
            raise PlanError(
                f"{remote_id} is already in state as {other}",
                hint=f"'rmapply state mv {other} {address}' to move it to this address",
            )


COMMANDS: list[click.Command] = [refresh_command, import_command]
