"""docs/cli.md, generated from the click commands themselves (see test_cli_reference.py)."""

from __future__ import annotations

import click
from click.testing import CliRunner

from rmapply.cli import cli

HEADER = """\
# Command reference

Generated from the commands' own help by `tests/cli/cli_reference.py`; a test fails when this
page is out of date (regenerate with
`RMAPPLY_UPDATE_GOLDEN=1 python -m pytest tests/cli/test_cli_reference.py`).
Exit codes, error format and environment variables: [reference.md](reference.md).
"""


def _walk(command: click.Command, path: list[str]) -> list[tuple[list[str], click.Command]]:
    found = [(path, command)]
    if isinstance(command, click.Group):
        ctx = click.Context(command, info_name=path[-1])
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            assert sub is not None, name
            found += _walk(sub, [*path, name])
    return found


def walk_commands() -> list[tuple[list[str], click.Command]]:
    """Every command path from the root (``["rmapply", "state", "list"]``) with its command."""
    return _walk(cli, ["rmapply"])


def cli_reference() -> str:
    """The Markdown reference of every command and option, as ``--help`` prints it."""
    parts = [HEADER]
    runner = CliRunner()
    for path, _command in walk_commands():
        result = runner.invoke(cli, [*path[1:], "--help"], terminal_width=100, prog_name="rmapply")
        assert result.exit_code == 0, (path, result.output)
        title = " ".join(path)
        parts.append(f"\n## `{title}`\n\n```text\n{result.output.rstrip()}\n```\n")
    return "".join(parts)
