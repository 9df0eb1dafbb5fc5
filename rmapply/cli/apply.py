"""``rmapply apply``, ``rmapply status`` and ``rmapply wait``: carry out a plan, look at the jobs,
re-attach to them (see docs/apply.md)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import click

from rmapply.apply.backoff import PollSchedule, poll_scale
from rmapply.apply.client_bridge import ClientEventBridge
from rmapply.apply.executor import ApplyOptions, execute_plan
from rmapply.apply.recovery import resolve_pending
from rmapply.apply.summary import ApplySummary
from rmapply.cli.apply_printer import (
    EventPrinter,
    is_terminal,
    open_printer,
    report_resolutions,
)
from rmapply.cli.formats import format_option, json_alias_option, wants_json
from rmapply.cli.local import LOCAL_SPEED, open_endpoint
from rmapply.cli.options import (
    allow_mass_removal_option,
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
from rmapply.cli.plan import print_warnings, render, replace_option
from rmapply.errors import (
    ApplyError,
    ConfigError,
)
from rmapply.output.apply_events import (
    summary_lines,
    wait_lines,
)
from rmapply.output.plan_json import plan_data
from rmapply.plan import Unresolved, check_saved_plan, load_plan
from rmapply.plan.pending import IN_FLIGHT_COMMANDS
from rmapply.project import Endpoint
from rmapply.state.lease import lease_lock

EXIT_INTERRUPTED = 130
NO_TERMINAL = (
    "refusing to apply without confirmation: no terminal to ask on (stdin is not a terminal)"
)
NO_TERMINAL_HINT = (
    "review the plan and pass --auto-approve, or apply a reviewed plan file: "
    "'rmapply plan --out plan.json' then 'rmapply apply plan.json'"
)


def _schedule(poll: float | None, endpoint: Endpoint) -> PollSchedule:
    speed = LOCAL_SPEED if endpoint.is_local else None
    return PollSchedule(scale=poll_scale(poll, emulator_speed=speed))


def _finish(
    printer: EventPrinter,
    summary: ApplySummary,
    *,
    waiting: bool = False,
    unresolved: Sequence[Unresolved] = (),
) -> int:
    """Print the end of an apply or wait; raise its ApplyError; the exit code otherwise."""
    if printer.json_lines:
        printer.data({"event": "summary", **summary.to_json()})
    elif waiting:
        for line in wait_lines(summary):
            printer.echo(line)
    elif summary.ok or summary.interrupted:
        for line in summary_lines(summary):
            printer.echo(line)
    if summary.interrupted:
        printer.echo("Interrupted: what was done is recorded in the state; jobs keep running.")
        return EXIT_INTERRUPTED
    error = summary.error("wait" if waiting else "apply")
    if error is not None:
        raise error
    if unresolved:
        raise _unresolved_error(unresolved)
    return 0


def _unresolved_error(unresolved: Sequence[Unresolved]) -> ApplyError:
    lines = [
        f"{len(unresolved)} request(s) of unknown outcome from an earlier apply are not settled;"
        " what depends on them was not applied:"
    ]
    for item in unresolved:
        lines.append(f"  {item.address}: {item.message}")
        lines.extend(f"    {command}" for command in item.commands)
    if all(item.commands == IN_FLIGHT_COMMANDS for item in unresolved):
        hint = (
            "nothing to do by hand: run 'rmapply apply' again after the time shown; it settles"
            " these by itself (see docs/apply.md, 'Unknown outcomes')"
        )
    else:
        hint = (
            "settle each with one of the commands shown, then run 'rmapply apply' again "
            "(see docs/apply.md, 'Unknown outcomes')"
        )
    return ApplyError("\n".join(lines), hint=hint)


# -- options shared by apply and wait -------------------------------------------------------

_parallelism = click.option(
    "--parallelism",
    type=click.IntRange(1, 64),
    default=None,
    help="Concurrent API calls (default: [apply] parallelism, else 8).",
)
_poll_scale = click.option(
    "--poll-scale",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Multiply the 15/30/60/120 s poll back-off (else RMAPPLY_POLL_SCALE; with --local "
    "1/emulator speed).",
)
_lock_timeout = lock_timeout_option()


@click.command("apply")
@click.argument("planfile", required=False, type=click.Path(dir_okay=False, path_type=Path))
@dir_option
@var_options
@endpoint_options
@click.option("--auto-approve", is_flag=True, help="Apply without asking for confirmation.")
@click.option(
    "--refresh/--no-refresh",
    default=True,
    show_default=True,
    help="Read the remote state of every job in state before planning.",
)
@click.option(
    "--target",
    "targets",
    multiple=True,
    metavar="ADDRESS",
    help="Apply only matching resources (globs) and what they need.",
)
@replace_option
@click.option("--cancel-replaced", is_flag=True, help="Cancel an active job that is replaced.")
@click.option(
    "--cancel-removed", is_flag=True, help="Cancel an active job that left the manifests."
)
@click.option(
    "--max-cost",
    type=click.FloatRange(min=0),
    default=None,
    help="Submit nothing if the service's estimates add up to more (default: [budget] maxCost).",
)
@click.option("--wait", is_flag=True, help="Wait for the submitted jobs to succeed or fail.")
@click.option(
    "--wait-timeout",
    type=click.FloatRange(min=0),
    default=None,
    metavar="SECONDS",
    help="Stop waiting after SECONDS (the jobs keep running).",
)
@_parallelism
@_poll_scale
@_lock_timeout
@ignore_previous_state_option
@retry_budget_option
@format_option
@json_alias_option
@allow_mass_removal_option
@click.option("--no-color", is_flag=True, help="Print the plan without colour.")
def apply_command(
    planfile: Path | None,
    directory: Path,
    var_files: tuple[Path, ...],
    cli_vars: tuple[str, ...],
    endpoint: str | None,
    local: bool,
    auto_approve: bool,
    refresh: bool,
    targets: tuple[str, ...],
    replace: tuple[str, ...],
    cancel_replaced: bool,
    cancel_removed: bool,
    max_cost: float | None,
    wait: bool,
    wait_timeout: float | None,
    parallelism: int | None,
    poll_scale: float | None,
    lock_timeout: float,
    ignore_previous_state: bool,
    retry_budget: float | None,
    fmt: str,
    json_alias: bool,
    allow_mass_removal: bool,
    no_color: bool,
) -> int:
    """Plan, show the plan, ask, then carry it out; or carry out a saved PLANFILE exactly."""
    json_lines = wants_json(fmt, json_alias)
    project = load_project(directory, ignore_previous_state)
    loaded = project.manifests(var_files=var_files, cli_vars=parse_vars(cli_vars))
    saved = load_plan(planfile) if planfile is not None else None
    if saved is not None and (targets or replace or cancel_replaced or cancel_removed):
        raise ConfigError(
            "--target, --replace, --cancel-replaced and --cancel-removed cannot change a saved"
            " plan",
            hint="make a new plan with those options: 'rmapply plan --out FILE ...'",
        )
    workers = parallelism or project.config.apply.parallelism
    budget = max_cost if max_cost is not None else project.config.budget.max_cost
    bridge = ClientEventBridge()
    with (
        open_printer(json_lines) as printer,
        open_endpoint(project, endpoint, local) as chosen,
        project.client(
            chosen, parallelism=workers, on_event=bridge, retry_budget=retry_budget
        ) as client,
        # --wait over a chain lets go of the lock while it only waits (docs/apply.md)
        lease_lock(project.store, "apply", lock_timeout) as session,
    ):
        bridge.sink = printer
        now = datetime.now(UTC)
        if saved is not None:
            lineage = check_saved_plan(
                saved,
                session.document if project.store.exists() else None,
                manifest_digest=loaded.manifest_digest,
                vars_digest=loaded.vars_digest,
                endpoint=None if chosen.is_local else chosen.url,
            )
            session.adopt_lineage(lineage)
            plan = saved.plan
        else:
            margin = project.config.api.in_flight_margin
            report_resolutions(printer, resolve_pending(session, client, now, margin=margin), now)
            options = project.plan_options(
                targets=targets,
                replace=replace,
                cancel_replaced=cancel_replaced,
                cancel_removed=cancel_removed,
                max_cost=budget,
            )
            planned = project.plan(
                loaded,
                client=client if refresh else None,
                options=options,
                now=now,
                session=session,  # a refresh that reads recorded ids back binds the state
                parallelism=workers,
                allow_mass_removal=allow_mass_removal,
            )
            print_warnings(planned)
            plan = planned.plan
        if json_lines:
            printer.data({"event": "plan", "plan": plan_data(plan)})
        else:
            click.echo(render(plan, "text", color=use_color(no_color)), nl=False)
        if saved is None and plan.anything_to_apply:
            _confirm(auto_approve)
        summary = execute_plan(
            plan,
            session,
            client,
            options=ApplyOptions(
                parallelism=workers,
                max_cost=budget,
                wait=wait,
                poll_schedule=_schedule(poll_scale, chosen),
                wait_timeout=wait_timeout,
                itwin_id=project.config.itwin_id,
                in_flight_margin=project.config.api.in_flight_margin,
                record_progress=saved is None,
                recorded_cancels=saved is None,
            ),
            on_event=printer,
        )
        code = _finish(printer, summary, unresolved=plan.unresolved)
        if summary.still_running and wait_timeout is not None and not summary.interrupted:
            raise _still_running(summary, wait_timeout)
        return code


def _confirm(auto_approve: bool) -> None:
    if auto_approve:
        return
    if not is_terminal(sys.stdin):
        raise ApplyError(NO_TERMINAL, hint=NO_TERMINAL_HINT)
    if not click.confirm("Apply these changes?", default=False):
        raise ApplyError("apply cancelled: nothing was changed", hint="run it again to apply")


def _still_running(summary: ApplySummary, timeout: float) -> ApplyError:
    """The error of a wait that stopped at its time limit (exit 1; the jobs keep running)."""
    return ApplyError(
        f"stopped waiting after {timeout:g} s; still running: {', '.join(summary.still_running)}",
        summary=summary.to_json(),
        hint="run 'rmapply wait' again later; the jobs keep running",
    )


COMMANDS: list[click.Command] = [apply_command]
