"""``rmapply``: the root command and the registry of subcommands."""

from __future__ import annotations

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
}


@click.group(
    cls=RmapplyGroup,
    lazy_commands=COMMAND_MODULES,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(__version__, prog_name="rmapply")
@click.option(
    "--debug", is_flag=True, help="Re-raise errors with their traceback (also RMAPPLY_DEBUG=1)."
)
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Declarative reconciler for Bentley iTwin Reality Modeling jobs."""
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


def main() -> None:
    """Console-script entry point."""
    cli.main(prog_name="rmapply")
