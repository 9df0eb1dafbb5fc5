"""docs/cli.md, generated from the click commands themselves (see test_cli_reference.py)."""

from __future__ import annotations

import click

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


def cli_reference() -> str:
    """The Markdown reference of every command and option."""
    parts = [HEADER]
    for path, command in _walk(cli, ["rmapply"]):
        ctx = click.Context(
            command, info_name=" ".join(path), terminal_width=100, max_content_width=100
        )
        title = " ".join(path)
        parts.append(f"\n## `{title}`\n\n```text\n{command.get_help(ctx)}\n```\n")
    return "".join(parts)
