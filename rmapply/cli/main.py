"""``rmapply``: the root command and the registry of subcommands."""

from __future__ import annotations

from pathlib import Path

import click

from rmapply import __version__
from rmapply.cli.group import RmapplyGroup

# Command name -> the module of rmapply.cli whose COMMANDS define it. Modules are imported only
# when their command runs: `rmapply plan` does not pay for importing apply, serve or the emulator.
COMMAND_MODULES: dict[str, str] = {
    "validate": "manifests",
    "render": "manifests",
    "schema": "manifests",
    "init": "manifests",
    "plan": "plan",
    "show": "plan",
    "apply": "apply",
    "status": "apply",
    "wait": "apply",
    "refresh": "sync",
    "import": "sync",
    "state": "state",
    "output": "state",
    "serve": "serve",
    "graph": "graph",
}

# Command name -> the first paragraph of its help, for `rmapply --help` (which thus imports no
# command module); tests/cli/test_startup_imports.py keeps it equal to the commands' own help.
COMMAND_SUMMARIES: dict[str, str] = {
    "apply": "Plan, show the plan, ask, then carry it out; or carry out a saved PLANFILE exactly.",
    "import": "Adopt the existing job or workspace REMOTE_ID as ADDRESS, checked against its "
    "manifest.",
    "init": "Create a small working project in TARGET (relative to -C); never overwrites a file.",
    "output": "Print the job ids and output reality-data ids by format, of ADDRESS or of "
    "everything.",
    "plan": "Show what apply would create, update, replace, submit or remove, and what it costs.",
    "refresh": "Update the state from the API only: job states, outputs, and what no longer "
    "exists.",
    "render": "Print the rendered, normalized desired resources (defaults applied).",
    "schema": "Print the JSON Schema of a manifest document (for editors; see docs/manifests.md).",
    "serve": "Run a local Reality Modeling emulator; the first line printed is its base URL.",
    "show": "Print a plan saved with 'rmapply plan --out FILE'.",
    "state": "Inspect and edit the state file (never calls the API).",
    "status": "Show the live state of the jobs in state (or of ADDRESS...), read from the service.",
    "validate": "Check the manifests: exit 0 when valid, 1 with every problem otherwise.",
    "wait": "Wait for the running jobs in state (or ADDRESS...) to succeed, fail or be cancelled.",
}


@click.group(
    cls=RmapplyGroup,
    lazy_commands=COMMAND_MODULES,
    summaries=COMMAND_SUMMARIES,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(__version__, prog_name="rmapply")
@click.option(
    "--debug", is_flag=True, help="Re-raise errors with their traceback (also RMAPPLY_DEBUG=1)."
)
@click.option("--no-color", is_flag=True, help="Print without colour (also NO_COLOR=1).")
@click.option(
    "-C",
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="The manifests directory, for every command (as if given after it).",
)
@click.pass_context
def cli(ctx: click.Context, debug: bool, no_color: bool, directory: Path | None) -> None:
    """Declarative reconciler for Bentley iTwin Reality Modeling jobs.

    Options before the command work after it too: 'rmapply -C manifests plan' is
    'rmapply plan -C manifests'.
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    ctx.obj["no_color"] = no_color
    ctx.obj["directory"] = directory


def main() -> None:
    """Console-script entry point."""
    cli.main(prog_name="rmapply")
