"""``rmapply output``: the job ids and output reality-data ids by format, for scripts."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import click

from rmapply.cli.formats import format_option, json_alias_option, wants_json
from rmapply.cli.options import dir_option, ignore_previous_state_option, load_project
from rmapply.cli.state import selected_addresses
from rmapply.output.dialect import versioned
from rmapply.project import LOCAL_STATE
from rmapply.state import ResourceRecord, show_record


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
@ignore_previous_state_option
@format_option
@json_alias_option
@click.option("--local", is_flag=True, help="Read the state of the embedded emulator's rehearsals.")
@click.argument("patterns", nargs=-1, metavar="[ADDRESS]...")
def output_command(
    directory: Path,
    ignore_previous_state: bool,
    fmt: str,
    json_alias: bool,
    local: bool,
    patterns: tuple[str, ...],
) -> None:
    """Print the job ids and output reality-data ids by format, of ADDRESS or of everything.

    ADDRESS may be a glob such as 'jobs.site-*', as --target takes it."""
    project = load_project(directory, ignore_previous_state)
    if local:
        project.use_local_state()
    store = project.store
    resources = store.load().resources
    if len(patterns) == 1 and not any(c in patterns[0] for c in "*?["):
        show_record(store, patterns[0])  # one plain address: its own did-you-mean message
    entries = {
        a: _output_entry(resources[a])
        for a in selected_addresses(sorted(resources), patterns, "output")
    }
    if wants_json(fmt, json_alias):
        click.echo(json.dumps(versioned({"resources": entries}), indent=2))
        return
    if not entries:
        if local:
            where = "" if directory == Path(".") else f" -C {shlex.quote(str(directory))}"
            click.echo(
                f"No resources in the --local state {store.location} yet; "
                f"'rmapply apply{where} --local' creates them.",
                err=True,
            )
            return
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
            for kind, output_id in outputs.items():
                click.echo(f"  {kind}: {output_id}")


COMMANDS: list[click.Command] = [output_command]
