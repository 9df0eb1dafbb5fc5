"""``rmapply``: the root command and the registry of subcommands."""

from __future__ import annotations

import click

from rmapply import __version__
from rmapply.cli import apply, manifests, plan, serve, state, sync
from rmapply.cli.group import RmapplyGroup


@click.group(cls=RmapplyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="rmapply")
@click.option(
    "--debug", is_flag=True, help="Re-raise errors with their traceback (also RMAPPLY_DEBUG=1)."
)
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Declarative reconciler for Bentley iTwin Reality Modeling jobs."""
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


for _module in (manifests, plan, apply, sync, state, serve):
    for _command in _module.COMMANDS:
        cli.add_command(_command)


def main() -> None:
    """Console-script entry point."""
    cli.main(prog_name="rmapply")
