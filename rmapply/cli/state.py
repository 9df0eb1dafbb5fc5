"""``rmapply state ...`` and ``rmapply output``: read and edit the state, print ids for scripts."""

from __future__ import annotations

import json
from pathlib import Path

import click

from rmapply.cli.options import dir_option, lock_timeout_option
from rmapply.errors import ConfigError
from rmapply.project import LOCAL_STATE, Project
from rmapply.state import (
    ResourceRecord,
    forget_intent,
    forget_resource,
    list_addresses,
    list_pending,
    move_resource,
    show_record,
)

_lock_timeout = lock_timeout_option(show_default=True)


@click.group("state")
def state_group() -> None:
    """Inspect and edit the state file (never calls the API)."""


@state_group.command("list")
@dir_option
def state_list(directory: Path) -> None:
    """List the addresses in state, and the operations of unknown outcome."""
    store = Project.load(directory).store
    for address in list_addresses(store):
        click.echo(address)
    for operation in list_pending(store):
        click.echo(
            f"{operation.address} (pending {operation.action} of unknown outcome, sent "
            f"{operation.sent_at.isoformat()})"
        )


@state_group.command("show")
@dir_option
@click.argument("address")
def state_show(directory: Path, address: str) -> None:
    """Print the record of ADDRESS as JSON."""
    record = show_record(Project.load(directory).store, address)
    click.echo(record.model_dump_json(indent=2))


@state_group.command("rm")
@dir_option
@_lock_timeout
@click.argument("address")
def state_rm(directory: Path, address: str, lock_timeout: float) -> None:
    """Forget ADDRESS: remove it from state without touching the remote job or workspace."""
    record = forget_resource(Project.load(directory).store, address, timeout=lock_timeout)
    click.echo(
        f"Removed {address} ({record.kind} {record.remote_id}) from state; "
        "the remote object was not touched."
    )


@state_group.command("mv")
@dir_option
@_lock_timeout
@click.argument("source")
@click.argument("destination")
def state_mv(directory: Path, source: str, destination: str, lock_timeout: float) -> None:
    """Rename SOURCE to DESTINATION in state (after renaming its key in the manifests)."""
    move_resource(Project.load(directory).store, source, destination, timeout=lock_timeout)
    click.echo(f"Moved {source} to {destination}.")


@state_group.command("forget-intent")
@dir_option
@_lock_timeout
@click.argument("address")
def state_forget_intent(directory: Path, address: str, lock_timeout: float) -> None:
    """Drop the pending operation of unknown outcome at ADDRESS (you checked it did not land)."""
    operation = forget_intent(Project.load(directory).store, address, timeout=lock_timeout)
    click.echo(f"Dropped the pending {operation.action} of {address}; the next plan may create it.")


@state_group.command("rebind")
@dir_option
@_lock_timeout
@click.option(
    "--endpoint",
    "url",
    default=None,
    metavar="URL",
    help="The endpoint that now serves the recorded jobs (default: RMAPPLY_ENDPOINT, else "
    "[api] endpoint).",
)
@click.option(
    "--itwin",
    "itwin_id",
    default=None,
    metavar="ID",
    help="The iTwin the recorded jobs now belong to (default: [project] iTwinId).",
)
def state_rebind(
    directory: Path, lock_timeout: float, url: str | None, itwin_id: str | None
) -> None:
    """Bind the state to another endpoint (or iTwin) after checking it serves the recorded ids."""
    if url is None and itwin_id is None:
        raise ConfigError(
            "state rebind needs --endpoint URL or --itwin ID",
            hint="e.g. 'rmapply state rebind --endpoint https://api.bentley.com/contextcapture'",
        )
    project = Project.load(directory)
    rebound = project.rebind(project.endpoint(url), itwin_id=itwin_id, lock_timeout=lock_timeout)
    before = f" (was {rebound.previous})" if rebound.previous else " (was not bound)"
    checked = (
        f"; {len(rebound.checked)} recorded id(s) answered there: {', '.join(rebound.checked)}"
        if rebound.checked
        else "; no recorded ids to check"
    )
    itwin = f", iTwin {rebound.binding.itwin_id}" if rebound.binding.itwin_id else ""
    click.echo(f"State bound to {rebound.binding.endpoint}{itwin}{before}{checked}.")


def _output_entry(record: ResourceRecord) -> dict[str, object]:
    entry: dict[str, object] = {"kind": record.kind, "id": record.remote_id}
    if record.kind == "job":
        entry["state"] = record.job_state
        entry["outputs"] = dict(sorted(record.outputs.items()))
        if record.remote and record.remote.get("estimatedCost") is not None:
            entry["estimatedCost"] = record.remote["estimatedCost"]
    return entry


@click.command("output")
@dir_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.option("--local", is_flag=True, help="Read the state of the embedded emulator's rehearsals.")
@click.argument("address", required=False)
def output_command(directory: Path, as_json: bool, local: bool, address: str | None) -> None:
    """Print the job ids and output reality-data ids by format, of ADDRESS or of everything."""
    project = Project.load(directory)
    if local:
        project.use_local_state()
    store = project.store
    if address is not None:
        entry = _output_entry(show_record(store, address))
        if as_json:
            click.echo(json.dumps(entry, indent=2))
            return
        entries = {address: entry}
    else:
        entries = {a: _output_entry(r) for a, r in sorted(store.load().resources.items())}
        if as_json:
            click.echo(json.dumps(entries, indent=2))
            return
    if not entries:
        click.echo("No resources in state yet; 'rmapply apply' creates them.", err=True)
        if not local and (project.directory / LOCAL_STATE).exists():
            click.echo(
                f"(a --local rehearsal has its own state: 'rmapply output -C {directory} --local')",
                err=True,
            )
        return
    for addr, shown in entries.items():
        state = f" ({shown['state']})" if shown.get("state") else ""
        click.echo(f"{addr}: {shown['id']}{state}")
        outputs = shown.get("outputs")
        if isinstance(outputs, dict):
            for fmt, output_id in outputs.items():
                click.echo(f"  {fmt}: {output_id}")


COMMANDS: list[click.Command] = [state_group, output_command]
