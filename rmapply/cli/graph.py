"""``rmapply graph``: the resources and their dependencies, for Graphviz or a pull request."""

from __future__ import annotations

from pathlib import Path

import click

from rmapply.cli.options import dir_option, parse_vars, var_options
from rmapply.output.graph import GRAPH_FORMATS, render_dot, render_mermaid, resource_graph
from rmapply.project import Project


@click.command("graph")
@dir_option
@var_options
@click.option(
    "--format",
    "fmt",
    type=click.Choice(GRAPH_FORMATS),
    default="dot",
    show_default=True,
    help="Graphviz DOT, or Mermaid for a pull request or an issue.",
)
@click.option("--local", is_flag=True, help="Label with the state of the --local rehearsals.")
def graph_command(
    directory: Path, var_files: tuple[Path, ...], cli_vars: tuple[str, ...], fmt: str, local: bool
) -> None:
    """Draw the resources and their dependencies from the manifests and the state.

    Each node shows the address, the job type (or workspace) and the state last seen; an
    arrow goes from what is applied first to what needs it, labelled dependsOn, useCache or
    workspace. Never calls the API.
    """
    project = Project.load(directory)
    loaded = project.manifests(var_files=var_files, cli_vars=parse_vars(cli_vars))
    if local:
        project.use_local_state()
    graph = resource_graph(loaded.desired, project.store.load().resources)
    click.echo(render_mermaid(graph) if fmt == "mermaid" else render_dot(graph), nl=False)


COMMANDS: list[click.Command] = [graph_command]
