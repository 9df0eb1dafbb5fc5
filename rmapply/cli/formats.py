"""``--format text|json`` of every command with machine-readable output, and ``--json``, its
alias where it existed before ``--format`` (docs/reference.md, 'JSON output')."""

from __future__ import annotations

import click

TEXT_OR_JSON = ("text", "json")

format_option = click.option(
    "--format",
    "fmt",
    type=click.Choice(TEXT_OR_JSON),
    default="text",
    show_default=True,
    help="json: camelCase JSON with a formatVersion (schemas in docs/schemas/).",
)
json_alias_option = click.option(
    "--json", "json_alias", is_flag=True, help="Same as --format json (kept as an alias)."
)


def wants_json(fmt: str, json_alias: bool) -> bool:
    """True when ``--format json`` or its alias ``--json`` was given."""
    return json_alias or fmt == "json"
