"""``rmapply``: the root command and the registry of subcommands."""

from __future__ import annotations

from pathlib import Path

import click

from rmapply import __version__
from rmapply.cli.examples import SUMMARIES
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
    "status": "follow",
    "wait": "follow",
    "refresh": "sync",
    "import": "sync",
    "state": "state",
    "output": "output_ids",
    "serve": "serve",
    "graph": "graph",
}

# Command name -> its one-line summary, for `rmapply --help` (which thus imports no command
# module); the same text is each command's short help once loaded (rmapply.cli.conventions).
COMMAND_SUMMARIES: dict[str, str] = {
    name: summary for name, summary in SUMMARIES.items() if " " not in name
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
