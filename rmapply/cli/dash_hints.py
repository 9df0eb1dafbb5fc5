"""Terraform habits: ``-var x=1``, ``-out``, ``-json`` ... answered with the two-dash option."""

from __future__ import annotations

import re
from collections.abc import Sequence

import click

# One dash, then a word of two letters or more: Terraform's spelling of a long option
# (``-var``, ``-auto-approve``, ``-lock-timeout=5``); click reads it as short options (-v -a -r).
_SINGLE_DASH_LONG = re.compile(r"^-([A-Za-z][A-Za-z0-9-]+)(=.*)?$", re.DOTALL)


class SingleDashOption(click.NoSuchOption):
    """``-name`` where ``--name`` (or another spelling) was meant: one line that says which."""

    def __init__(self, spelled: str, suggestion: str | None, ctx: click.Context) -> None:
        if suggestion is not None:
            message = f"No such option: {spelled}. Did you mean {suggestion}?"
        else:
            message = (
                f"No such option: {spelled} (long options take two dashes here, and "
                f"'{ctx.command_path} -{spelled}' does not exist either)."
            )
        super().__init__(spelled, message=message, ctx=ctx)
        self.suggestion = suggestion

    def format_message(self) -> str:
        """The message alone (click would drop a suggestion that is not a close match)."""
        return self.message


def _options(ctx: click.Context) -> dict[str, click.Parameter]:
    return {
        opt: param
        for param in ctx.command.get_params(ctx)
        for opt in (*param.opts, *param.secondary_opts)
    }


def _suggestion(name: str, ctx: click.Context) -> str | None:
    """The two-dash spelling of ``-name`` in ``ctx``'s command, if it has one."""
    options = _options(ctx)
    if f"--{name}" in options:
        return f"--{name}"
    if name == "json":
        formats = options.get("--format")
        choices = getattr(getattr(formats, "type", None), "choices", ())
        if "json" in choices:
            return "--format json"
    return None


def single_dash_hint(error: click.NoSuchOption, args: Sequence[str]) -> SingleDashOption | None:
    """The error to show instead of ``error`` when ``args`` spell a long option with one dash:
    "No such option: -var. Did you mean --var?"; None when that is not what went wrong."""
    ctx = error.ctx
    if ctx is None:
        return None
    for arg in args:
        if arg == "--":
            break
        found = _SINGLE_DASH_LONG.match(arg)
        if found is None:
            continue
        spelled = f"-{found[1]}"
        suggestion = _suggestion(found[1], ctx)
        if suggestion is not None:
            return SingleDashOption(spelled, suggestion, ctx)
        if error.option_name in (spelled, spelled[:2]) and spelled[:2] not in _options(ctx):
            return SingleDashOption(spelled, None, ctx)
    return None
