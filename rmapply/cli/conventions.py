"""What every command shares, applied when the root group loads it: ``--debug`` and
``--no-color`` after the subcommand too, a one-line summary, and examples at the end of its help."""

from __future__ import annotations

from typing import Any

import click

from rmapply.cli.examples import EXAMPLES, SUMMARIES
from rmapply.cli.options import root_settings


def _remember(key: str) -> Any:
    """A flag callback that records ``key`` where the options before the subcommand go."""

    def callback(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
        if value:
            root_settings(ctx)[key] = True
        return value

    return callback


def _flag(name: str, key: str, help_text: str) -> click.Option:
    return click.Option(
        [name], is_flag=True, expose_value=False, callback=_remember(key), help=help_text
    )


DEBUG_HELP = "Re-raise errors with their traceback (also RMAPPLY_DEBUG=1)."
NO_COLOR_HELP = "Print without colour (also NO_COLOR=1)."


def examples_epilog(lines: tuple[str, ...]) -> str:
    """Click's epilog for ``lines`` (``\\b`` keeps click from re-wrapping them)."""
    return "\b\nExamples:\n" + "\n".join(f"  {line}" for line in lines)


def adopt(command: click.Command, path: str) -> None:
    """Give ``command`` (named ``path``, e.g. ``state list``) and its subcommands the shared
    flags, its summary and its examples; calling it twice changes nothing."""
    names = {opt for param in command.params for opt in param.opts}
    if "--debug" not in names:
        command.params.append(_flag("--debug", "debug", DEBUG_HELP))
    if "--no-color" not in names:
        command.params.append(_flag("--no-color", "no_color", NO_COLOR_HELP))
    if path in SUMMARIES:
        command.short_help = SUMMARIES[path]
    if path in EXAMPLES and not command.epilog:
        command.epilog = examples_epilog(EXAMPLES[path])
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            adopt(sub, f"{path} {name}")
