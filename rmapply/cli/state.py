"""``rmapply state ...``: read and edit the state (``rmapply output`` is in output_ids)."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

import click

from rmapply.cli.options import (
    dir_option,
    ignore_previous_state_option,
    load_project,
    lock_timeout_option,
    use_color,
)
from rmapply.config import load_config
from rmapply.errors import ConfigError
from rmapply.model import Address
from rmapply.output.dialect import camel_keys, versioned
from rmapply.plan.ordering import matching
from rmapply.project import Project
from rmapply.state import (
    ResourceRecord,
    Restored,
    StateVersion,
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


def selected_addresses(names: list[str], patterns: tuple[str, ...], command: str) -> list[str]:
    """The addresses matching any glob, as ``--target`` matches them (all without a glob);
    PlanError naming every glob that matches nothing, with a did-you-mean."""
    if not patterns:
        return names
    chosen = {
        str(a)
        for a in matching(patterns, map(Address.parse, names), flag=command, where="in the state")
    }
    return [n for n in names if n in chosen]


@state_group.command("list")
@dir_option
@ignore_previous_state_option
@click.argument("patterns", nargs=-1, metavar="[ADDRESS]...")
def state_list(directory: Path, ignore_previous_state: bool, patterns: tuple[str, ...]) -> None:
    """List the addresses in state, and the operations of unknown outcome.

    ADDRESS globs such as 'jobs.site-*' (as --target takes them) list only what they match."""
    store = load_project(directory, ignore_previous_state).store
    addresses = list_addresses(store)
    pending = list_pending(store)
    selected = set(
        selected_addresses(
            sorted({*addresses, *(p.address for p in pending)}), patterns, "state list"
        )
    )
    for address in addresses:
        if address in selected:
            click.echo(address)
    for operation in pending:
        if operation.address not in selected:
            continue
        click.echo(
            f"{operation.address} (pending {operation.action} of unknown outcome, sent "
            f"{operation.sent_at.isoformat()})"
        )


# the API's own JSON and a map of output formats: their keys are data, not rmapply's names
_DATA_KEYS = frozenset({"spec", "remote", "outputs", "details"})


def record_json(record: ResourceRecord) -> dict[str, object]:
    """A state record in the JSON dialect of every output (the state file keeps its own)."""
    return versioned(camel_keys(record.model_dump(mode="json"), keep=_DATA_KEYS))


@state_group.command("show")
@dir_option
@ignore_previous_state_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(("json",)),
    default="json",
    show_default=True,
    help="The record as camelCase JSON with a formatVersion (the only format).",
)
@click.argument("address")
def state_show(directory: Path, ignore_previous_state: bool, fmt: str, address: str) -> None:
    """Print the record of ADDRESS as JSON."""
    record = show_record(load_project(directory, ignore_previous_state).store, address)
    click.echo(json.dumps(record_json(record), indent=2))


@state_group.command("rm")
@dir_option
@ignore_previous_state_option
@_lock_timeout
@click.argument("address")
def state_rm(
    directory: Path, ignore_previous_state: bool, address: str, lock_timeout: float
) -> None:
    """Forget ADDRESS: remove it from state without touching the remote job or workspace."""
    store = load_project(directory, ignore_previous_state).store
    record = forget_resource(store, address, timeout=lock_timeout)
    click.echo(
        f"Removed {address} ({record.kind} {record.remote_id}) from state; "
        "the remote object was not touched."
    )


@state_group.command("mv")
@dir_option
@ignore_previous_state_option
@_lock_timeout
@click.argument("source")
@click.argument("destination")
def state_mv(
    directory: Path,
    ignore_previous_state: bool,
    source: str,
    destination: str,
    lock_timeout: float,
) -> None:
    """Rename SOURCE to DESTINATION in state (after renaming its key in the manifests)."""
    store = load_project(directory, ignore_previous_state).store
    move_resource(store, source, destination, timeout=lock_timeout)
    click.echo(f"Moved {source} to {destination}.")


@state_group.command("forget-intent")
@dir_option
@ignore_previous_state_option
@_lock_timeout
@click.argument("address")
def state_forget_intent(
    directory: Path, ignore_previous_state: bool, address: str, lock_timeout: float
) -> None:
    """Drop the pending operation of unknown outcome at ADDRESS (you checked it did not land)."""
    store = load_project(directory, ignore_previous_state).store
    operation = forget_intent(store, address, timeout=lock_timeout)
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


def _version_json(version: StateVersion) -> dict[str, object]:
    return {
        "version": version.name,
        "serial": version.serial,
        "lineage": version.lineage,
        "resources": version.resources,
        "keptAt": version.kept_at.isoformat().replace("+00:00", "Z"),
        "path": str(version.path),
        "problem": version.problem,
    }


_local_state = click.option(
    "--local", is_flag=True, help="The state of the embedded emulator's rehearsals."
)


def _state_of(directory: Path, local: bool) -> Project:
    project = Project.load(directory)
    if local:
        project.use_local_state()
    return project


@state_group.command("versions")
@dir_option
@_local_state
@click.option(
    "--format", "fmt", type=click.Choice(("text", "json")), default="text", show_default=True
)
def state_versions(directory: Path, local: bool, fmt: str) -> None:
    """List the earlier versions of the state that can be restored."""
    store = _state_of(directory, local).store
    versions = store.versions()
    condition = store.find_traces().condition
    if fmt == "json":
        data = versioned(
            {
                "state": {"path": store.location, "condition": condition},
                "versions": [_version_json(v) for v in versions],
            }
        )
        click.echo(json.dumps(data, indent=2))
        return
    if condition != "present":
        click.echo(f"State file {store.location} is {condition}.")
    if not versions:
        click.echo(f"No earlier versions of {store.location} are kept.")
        return
    click.echo(f"{'VERSION':<40}  {'SERIAL':>6}  {'RESOURCES':>9}  {'KEPT (UTC)':<19}  LINEAGE")
    for v in versions:
        kept = v.kept_at.strftime("%Y-%m-%d %H:%M:%S")
        if v.problem is not None:
            click.echo(f"{v.name:<40}  {'-':>6}  {'-':>9}  {kept:<19}  unreadable: {v.problem}")
            continue
        click.echo(f"{v.name:<40}  {v.serial:>6}  {v.resources:>9}  {kept:<19}  {v.lineage}")
    where = "" if directory == Path(".") else f" -C {shlex.quote(str(directory))}"
    command = f"rmapply state restore{where}{' --local' if local else ''}"
    click.echo(f"Restore one with '{command} VERSION' (default: the newest).")


def _restored_lines(restored: Restored, location: str) -> list[str]:
    lines = [
        f"Restored {restored.source} (serial {restored.source_serial}) into {location} as "
        f"serial {restored.serial} of lineage {restored.lineage}: {restored.resources} "
        "resource(s)."
    ]
    if restored.replayed:
        lines.append(f"Replayed {restored.replayed} journal record(s) onto it.")
    if restored.journal_set_aside is not None:
        lines.append(f"The journal was moved to {restored.journal_set_aside}.")
    if restored.kept is not None:
        lines.append(f"The state file it replaces is kept as {restored.kept}.")
    if restored.pending:
        lines.append(
            f"{restored.pending} request(s) of unknown outcome are pending; 'rmapply plan' shows "
            "how each is settled."
        )
    return lines


def _restored_warning(restored: Restored) -> str | None:
    if restored.source == "journal":
        return (
            f"warning: only the changes recorded after serial {restored.source_serial} were "
            "restored; the resources of the earlier state are not in it: adopt each existing "
            "job with 'rmapply import ADDRESS ID' before applying"
        )
    if restored.gap is not None:
        return (
            f"warning: the changes written between serial {restored.gap[0]} and "
            f"{restored.gap[1]} are in no trace left: a job created then is not in this state; "
            "adopt it with 'rmapply import ADDRESS ID' before applying"
        )
    return None


@state_group.command("restore")
@dir_option
@_local_state
@_lock_timeout
@click.option(
    "--allow-other-lineage",
    is_flag=True,
    help="Restore a version of another lineage (another state) than the one here.",
)
@click.argument("version", required=False)
def state_restore(
    directory: Path,
    local: bool,
    lock_timeout: float,
    allow_other_lineage: bool,
    version: str | None,
) -> None:
    """Bring an earlier version of the state back (default: the newest).

    VERSION is a name listed by 'rmapply state versions', 'backup', a serial, or 'journal' (the
    changes of a journal alone). It is written as the next serial of its lineage, so a plan
    saved before is stale; the file it replaces is kept as a version first.
    """
    store = _state_of(directory, local).store
    restored = store.restore(version, timeout=lock_timeout, allow_other_lineage=allow_other_lineage)
    for line in _restored_lines(restored, store.location):
        click.echo(line)
    warning = _restored_warning(restored)
    if warning is not None:
        click.secho(warning, err=True, fg="yellow", color=use_color(False, sys.stderr))


COMMANDS: list[click.Command] = [state_group]


@state_group.command("init")
@dir_option
def state_init(directory: Path) -> None:
    """Create an empty state under [state] key in the PostgreSQL backend."""
    from rmapply.state.migrate import database_store, init_state

    store = database_store(directory)
    init_state(store)
    click.echo(f"Created an empty state: {store.location}.")


@state_group.command("migrate")
@dir_option
@_lock_timeout
@click.option(
    "--to",
    "target",
    required=True,
    help="postgresql://USER@HOST:PORT/DB to move the local state in, or a FILE to copy the "
    "database state back to.",
)
@click.option("--key", default=None, help="The key in the database (default: [state] key).")
def state_migrate(directory: Path, lock_timeout: float, target: str, key: str | None) -> None:
    """Move the local state (and its versions) into PostgreSQL, or copy it back to a file.

    Into the database, the local file is set aside (with a marker naming the URL and key) only
    once the copy is committed; a state of another lineage there is never overwritten.
    """
    from rmapply.state.migrate import copy_to_file, database_store, migrate_to_database
    from rmapply.state.postgres import PostgresStateStore
    from rmapply.state.store import LocalStateStore

    config = load_config(directory).require_file()
    section = config.state
    if target.startswith(("postgresql://", "postgres://")):
        chosen = key or section.key
        if chosen is None:
            raise ConfigError(
                "state migrate --to URL needs a key: pass --key KEY or set [state] key",
                hint="the key names this project's state in the database",
            )
        local = LocalStateStore(config.directory / section.path, keep_versions=section.versions)
        store = PostgresStateStore(
            target, chosen, schema=section.schema_, keep_versions=section.versions
        )
        moved = migrate_to_database(local, store, timeout=lock_timeout)
        click.echo(
            f"Copied {moved.source} (serial {moved.serial}, {moved.resources} resource(s), "
            f"{moved.versions} version(s)) to {moved.destination}."
        )
        click.echo(
            f"The local file is set aside as {moved.set_aside}; set [state] backend = "
            '"postgres" with that url and key to use the database from now on.'
        )
        return
    copied = copy_to_file(database_store(directory, key), Path(target), timeout=lock_timeout)
    click.echo(
        f"Copied {copied.source} (serial {copied.serial}, {copied.resources} resource(s), "
        f"{copied.versions} version(s)) to {copied.destination}."
    )
