"""Options shared by the commands: the manifests directory, variables, endpoint and colour."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from rmapply.project import Project

F = TypeVar("F", bound=Callable[..., Any])


def root_settings(ctx: click.Context | None = None) -> dict[str, Any]:
    """What the options before the subcommand (``rmapply -C DIR --no-color plan``) set."""
    ctx = ctx or click.get_current_context(silent=True)
    root = ctx.find_root() if ctx is not None else None
    if root is None:
        return {}
    if not isinstance(root.obj, dict):
        root.obj = {}
    settings: dict[str, Any] = root.obj
    return settings


def _directory(ctx: click.Context, param: click.Parameter, value: Path) -> Path:
    # ``rmapply -C DIR plan`` as ``rmapply plan -C DIR``; a -C after the subcommand wins
    if param.name and ctx.get_parameter_source(param.name) is click.core.ParameterSource.DEFAULT:
        chosen = root_settings(ctx).get("directory")
        if chosen is not None:
            return Path(chosen)
    return value


def dir_option(func: F) -> F:
    """``-C/--dir DIR``: the manifests directory (default: the one given before the subcommand,
    else the current one)."""
    return click.option(
        "-C",
        "--dir",
        "directory",
        type=click.Path(file_okay=False, path_type=Path),
        default=Path("."),
        show_default=True,
        callback=_directory,
        is_eager=True,  # known before --var-file, whose mistakes it helps to explain
        help="The manifests directory (the one holding rmapply.toml).",
    )(func)


def from_current_directory(
    ctx: click.Context, param: click.Parameter, value: tuple[Path, ...]
) -> tuple[Path, ...]:
    """Command-line paths are relative to the current directory (docs/reference.md, "Paths").

    Made absolute here, so no later step can read them against the manifests directory. A
    relative path missing here but present under -C is the old habit: say which file was meant.
    """
    chosen = ctx.params.get("directory") or root_settings(ctx).get("directory")
    resolved: list[Path] = []
    for given in value:
        path = Path(os.path.abspath(given))
        if not given.is_absolute() and not path.exists() and chosen is not None:
            inside = Path(chosen) / given
            if inside.is_file():
                raise click.BadParameter(
                    f"{given} is not in the current directory; did you mean {inside}? "
                    "(paths on the command line are relative to the current directory, "
                    "not to -C)",
                    ctx,
                    param,
                )
        resolved.append(path)
    return tuple(resolved)


def var_options(func: F) -> F:
    """``--var-file FILE`` and ``--var NAME=VALUE``, both repeatable."""
    func = click.option(
        "--var",
        "cli_vars",
        multiple=True,
        metavar="NAME=VALUE",
        help="Set a template variable (VALUE parsed as JSON when it parses). Repeatable.",
    )(func)
    return click.option(
        "--var-file",
        "var_files",
        multiple=True,
        type=click.Path(dir_okay=False, path_type=Path),
        callback=from_current_directory,
        help=(
            "A YAML, TOML or JSON file of template variables (relative to the current "
            "directory). Repeatable."
        ),
    )(func)


def parse_vars(pairs: tuple[str, ...]) -> dict[str, str]:
    """``("a=1", "b=x")`` -> ``{"a": "1", "b": "x"}``; a pair without ``=`` is a usage error."""
    out: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise click.BadParameter(f"{pair!r} is not NAME=VALUE", param_hint="--var")
        out[name.strip()] = value
    return out


def endpoint_options(func: F) -> F:
    """``--endpoint URL`` and ``--local`` (the embedded emulator, data under DIR/.rmapply/)."""
    func = click.option(
        "--local",
        is_flag=True,
        help="Use the embedded emulator in process, with its data under DIR/.rmapply/.",
    )(func)
    return click.option(
        "--endpoint",
        metavar="URL",
        default=None,
        help="The Reality Modeling API (else RMAPPLY_ENDPOINT, [api] endpoint, or Bentley's).",
    )(func)


def color_option(func: F) -> F:
    """``--no-color``."""
    return click.option("--no-color", is_flag=True, help="Print without colour.")(func)


def use_color(no_color: bool, stream: Any = None) -> bool:
    """Colour on a terminal; none with --no-color (before or after the subcommand), NO_COLOR,
    or when not a tty."""
    if no_color or os.environ.get("NO_COLOR", "") != "" or root_settings().get("no_color"):
        return False
    target = stream if stream is not None else sys.stdout
    isatty = getattr(target, "isatty", None)
    return bool(isatty and isatty())


LOCK_TIMEOUT_HELP = "Wait up to SECONDS for another rmapply holding the state lock."


def lock_timeout_option(
    help_text: str = LOCK_TIMEOUT_HELP, *, show_default: bool = False
) -> Callable[[F], F]:
    """``--lock-timeout SECONDS`` (default 0: fail at once when another rmapply holds the lock)."""
    return click.option(
        "--lock-timeout",
        type=click.FloatRange(min=0),
        default=0.0,
        metavar="SECONDS",
        show_default=show_default,
        help=help_text,
    )


IGNORE_PREVIOUS_STATE_HELP = (
    "Start empty, knowingly, when the state file is missing or empty beside traces of an "
    "earlier state (else refused)."
)


def ignore_previous_state_option(func: F) -> F:
    """``--ignore-previous-state``: start empty, knowingly, beside traces of an earlier state."""
    return click.option("--ignore-previous-state", is_flag=True, help=IGNORE_PREVIOUS_STATE_HELP)(
        func
    )


def load_project(directory: Path, ignore_previous_state: bool = False) -> Project:
    """``Project.load``; with ``ignore_previous_state``, a warning when traces are ignored."""
    from rmapply.project import Project

    project = Project.load(directory, ignore_previous_state=ignore_previous_state)
    context = click.get_current_context(silent=True)
    if context is not None and context.params.get("local"):
        project.use_local_state()  # --local: the rehearsal's state is the one read and warned of
    if ignore_previous_state:
        traces = project.store.find_traces()
        if traces.orphaned:
            click.secho(
                f"warning: state file {project.store.location} is {traces.condition}: starting "
                "from an empty state as asked (--ignore-previous-state); the traces of the "
                "earlier state are not used (a writer moves them into the versions folder)",
                err=True,
                fg="yellow",
                color=use_color(False, sys.stderr),
            )
    return project


def allow_mass_removal_option(func: F) -> F:
    """``--allow-mass-removal``: consent when a refresh proves most of the state gone."""
    return click.option(
        "--allow-mass-removal",
        is_flag=True,
        help="Go on when over half of the state answered 404 (not found).",
    )(func)


RETRY_BUDGET_HELP = (
    "Give up on a request the service keeps rate limiting (429) after SECONDS of waiting "
    "(default: [api] retryBudget, else 900 = 15 min)."
)


def retry_budget_option(func: F) -> F:
    """``--retry-budget SECONDS``: how long one request may stay rate limited (None: config)."""
    return click.option(
        "--retry-budget",
        type=click.FloatRange(min=0),
        default=None,
        metavar="SECONDS",
        help=RETRY_BUDGET_HELP,
    )(func)
