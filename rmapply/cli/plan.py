"""``rmapply plan`` and ``rmapply show``: what apply would do, for people and for machines."""

from __future__ import annotations

import contextlib
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from rmapply.cli.group import EXIT_CHANGES, EXIT_OK
from rmapply.cli.local import open_endpoint
from rmapply.cli.options import (
    allow_mass_removal_option,
    color_option,
    dir_option,
    endpoint_options,
    ignore_previous_state_option,
    load_project,
    lock_timeout_option,
    parse_vars,
    retry_budget_option,
    use_color,
    var_options,
)
from rmapply.errors import PlanError
from rmapply.output.plan_text import render_plan_text
from rmapply.project import Planned

if TYPE_CHECKING:
    from rmapply.plan import Plan

FORMATS = ("text", "json", "markdown")
replace_option = click.option(
    "--replace",
    "replace",
    multiple=True,
    metavar="ADDRESS",
    help="Run this job again though nothing changed (repeatable, globs like 'jobs.site-*');"
    " the old job is retired as a replacement's is.",
)
NO_REFRESH_NOTE = (
    "note: --no-refresh: nothing was read from the service; this plan compares the manifests "
    "with the state only"
)


def render(plan: Plan, fmt: str, *, color: bool) -> str:
    """The plan in ``fmt`` (text, json or markdown)."""
    # the other formats' modules are imported only when chosen (a text plan never needs them)
    if fmt == "json":
        from rmapply.output.plan_json import render_plan_json

        return render_plan_json(plan)
    if fmt == "markdown":
        from rmapply.output.plan_markdown import render_plan_markdown

        return render_plan_markdown(plan)
    return render_plan_text(plan, color=color)


def print_warnings(planned: Planned, *, color: bool | None = None) -> None:
    """Manifest warnings and refresh problems, on stderr (in colour on a terminal only)."""
    shown = use_color(False, sys.stderr) if color is None else color
    for warning in planned.loaded.warnings:
        click.secho(warning.render(), err=True, fg="yellow", color=shown)
    if planned.refreshed is not None:
        for problem in planned.refreshed.problems:
            click.secho(f"warning: refresh: {problem}", err=True, fg="yellow", color=shown)


@click.command("plan")
@dir_option
@var_options
@endpoint_options
@click.option(
    "--refresh/--no-refresh",
    default=True,
    show_default=True,
    help="Read the remote state of every job in state first.",
)
@click.option("--refresh-only", is_flag=True, help="Show remote changes alone.")
@click.option(
    "--target",
    "targets",
    multiple=True,
    metavar="ADDRESS",
    help="Plan only matching resources (globs like 'jobs.site-*') and what they need.",
)
@replace_option
@click.option(
    "--cancel-replaced",
    is_flag=True,
    help="Cancel a still-active job that is replaced (else it keeps running).",
)
@click.option(
    "--cancel-removed",
    is_flag=True,
    help="Cancel a still-active job that left the manifests (else it is only forgotten).",
)
@click.option(
    "--max-cost",
    type=click.FloatRange(min=0),
    default=None,
    help="Fail when the plan's estimated cost is higher (default: [budget] maxCost).",
)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True)
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Save the plan, for 'rmapply apply FILE'.",
)
@click.option(
    "--detailed-exitcode", is_flag=True, help="Exit 0 without changes, 2 with changes, 1 on error."
)
@click.option(
    "--parallelism",
    type=click.IntRange(1, 64),
    default=None,
    help="Concurrent API calls for the refresh (default: [apply] parallelism).",
)
@lock_timeout_option("With --out: wait up to SECONDS for another rmapply holding the state lock.")
@ignore_previous_state_option
@allow_mass_removal_option
@retry_budget_option
@color_option
def plan_command(
    directory: Path,
    var_files: tuple[Path, ...],
    cli_vars: tuple[str, ...],
    endpoint: str | None,
    local: bool,
    refresh: bool,
    refresh_only: bool,
    targets: tuple[str, ...],
    replace: tuple[str, ...],
    cancel_replaced: bool,
    cancel_removed: bool,
    max_cost: float | None,
    fmt: str,
    out: Path | None,
    detailed_exitcode: bool,
    parallelism: int | None,
    lock_timeout: float,
    ignore_previous_state: bool,
    allow_mass_removal: bool,
    retry_budget: float | None,
    no_color: bool,
) -> int:
    """Show what apply would create, update, replace, submit or remove, and what it costs."""
    project = load_project(directory, ignore_previous_state)
    loaded = project.manifests(var_files=var_files, cli_vars=parse_vars(cli_vars))
    options = project.plan_options(
        targets=targets,
        replace=replace,
        refresh_only=refresh_only,
        cancel_replaced=cancel_replaced,
        cancel_removed=cancel_removed,
        max_cost=max_cost,
    )
    reads_remote = refresh or refresh_only
    with contextlib.ExitStack() as stack:
        chosen = stack.enter_context(open_endpoint(project, endpoint, local))
        client = (
            stack.enter_context(
                project.client(chosen, parallelism=parallelism, retry_budget=retry_budget)
            )
            if reads_remote
            else None
        )
        # a saved plan names the state's serial: no one may write the state meanwhile, and
        # what the refresh settles is recorded under the lock (plan without --out writes nothing)
        session = (
            stack.enter_context(project.store.lock("plan --out", lock_timeout))
            if out is not None
            else None
        )
        planned = project.plan(
            loaded,
            client=client,
            options=options,
            now=datetime.now(UTC),
            parallelism=parallelism,
            settle=True,
            session=session,
            allow_mass_removal=allow_mass_removal,
        )
        print_warnings(planned, color=use_color(no_color, sys.stderr))
        if not reads_remote:
            click.echo(NO_REFRESH_NOTE, err=True)
        click.echo(render(planned.plan, fmt, color=use_color(no_color)), nl=False)
        if out is not None:
            # plan files are imported only to save one: a plan without --out never needs them
            from rmapply.plan.planfile import save_plan, saved_plan

            save_plan(
                out,
                saved_plan(
                    planned.plan,
                    state=planned.document,
                    state_existed=planned.state_existed,
                    manifest_digest=loaded.manifest_digest,
                    vars_digest=loaded.vars_digest,
                    endpoint=chosen.url,
                ),
            )
            click.echo(
                f"\nSaved the plan to {out}; apply exactly this plan with "
                f"'rmapply apply -C {directory} {out}'.",
                err=fmt != "text",
            )
    if not detailed_exitcode:
        return EXIT_OK
    check_complete(planned)
    if planned.plan.refresh_only:
        # a drift check: a job finishing is normal progress, only drift or a gone object is news
        return EXIT_CHANGES if planned.plan.drift_or_gone else EXIT_OK
    return EXIT_CHANGES if planned.plan.anything_to_apply else EXIT_OK


def check_complete(planned: Planned) -> None:
    """``--detailed-exitcode``: PlanError (exit 1, over 2) naming every resource that could not
    be read and every request of unknown outcome that blocks part of the plan."""
    lines: list[str] = []
    if planned.refreshed is not None:
        lines += [f"  could not be read: {problem}" for problem in planned.refreshed.unread]
    lines += [
        f"  {item.address}: blocked behind the unresolved {item.operation} sent at "
        f"{item.sent_at.isoformat()}"
        for item in planned.plan.unresolved
    ]
    if not lines:
        return
    raise PlanError(
        "plan --detailed-exitcode: the plan is not complete, so neither 'no changes' (0) nor "
        "'changes' (2) can be said:\n" + "\n".join(lines),
        hint="settle each unresolved request with a command the plan shows, and plan again "
        "when the service answers for every resource",
    )


@click.command("show")
@click.argument("planfile", type=click.Path(dir_okay=False, path_type=Path))
@dir_option
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True)
@color_option
def show_command(planfile: Path, directory: Path, fmt: str, no_color: bool) -> None:
    """Print a plan saved with 'rmapply plan --out FILE'.

    PLANFILE is read from where it was named, as 'plan --out' wrote it; -C is accepted like
    everywhere else (a plan file holds everything it shows).
    """
    from rmapply.plan.planfile import load_plan  # here: plan (without --out) never needs it

    saved = load_plan(planfile)
    if fmt == "text":
        click.echo(
            f"Plan file {planfile}: made for state lineage {saved.lineage} serial {saved.serial}"
            f" against {saved.endpoint}.\n"
        )
    click.echo(render(saved.plan, fmt, color=use_color(no_color)), nl=False)


COMMANDS: list[click.Command] = [plan_command, show_command]
