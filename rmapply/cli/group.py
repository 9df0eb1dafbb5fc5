"""The root click group: one place that turns errors into messages and exit codes."""

from __future__ import annotations

import importlib
import os
import sys
import traceback
from collections.abc import Sequence
from typing import Any

import click

from rmapply.cli.pydantic_plugins import skip_pydantic_plugins
from rmapply.errors import RmapplyError
from rmapply.gc_pause import gc_paused

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_INTERRUPTED = 130  # Ctrl-C, as shells report SIGINT
EXIT_CHANGES = 2  # only with --detailed-exitcode


def debug_enabled(ctx: click.Context | None = None) -> bool:
    """True with --debug or RMAPPLY_DEBUG=1: errors are re-raised with their traceback."""
    if os.environ.get("RMAPPLY_DEBUG", "") not in ("", "0"):
        return True
    root = ctx.find_root() if ctx else None
    return bool(root and root.obj and root.obj.get("debug"))


def print_error(error: RmapplyError, *, no_color: bool = False) -> None:
    """Print ``Error: ...`` and ``Hint: ...`` to stderr."""
    # NO_COLOR covers stderr too (click colours a terminal stderr otherwise)
    color = False if no_color or os.environ.get("NO_COLOR", "") != "" else None
    click.secho(f"Error: {error.message}", err=True, fg="red", color=color)
    if error.hint:
        click.echo(f"Hint: {error.hint}", err=True)


class RmapplyGroup(click.Group):
    """A group whose ``main`` maps every outcome to rmapply's exit codes (usage errors are 1),
    and whose commands are imported from their modules only when needed."""

    def __init__(
        self,
        *args: Any,
        lazy_commands: dict[str, str] | None = None,
        summaries: dict[str, str] | None = None,
        **kwargs: Any,
    ):
        super().__init__(*args, **kwargs)
        self.lazy_commands = dict(lazy_commands or {})
        self.summaries = dict(summaries or {})  # name -> first paragraph of the command's help

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The list of commands; one not imported yet is listed from its summary, so that
        ``rmapply --help`` imports none of the commands' modules."""
        rows: list[tuple[str, click.Command]] = []
        for name in self.list_commands(ctx):
            if name not in self.commands and name in self.summaries:
                rows.append((name, click.Command(name, help=self.summaries[name])))
                continue
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command))
        if rows:
            limit = formatter.width - 6 - max(len(name) for name, _ in rows)
            with formatter.section("Commands"):
                formatter.write_dl([(name, c.get_short_help_str(limit)) for name, c in rows])

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Every command name, the lazy ones included."""
        return sorted(set(super().list_commands(ctx)) | set(self.lazy_commands))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """The command ``cmd_name``, importing its module on first use."""
        found = super().get_command(ctx, cmd_name)
        if found is not None or cmd_name not in self.lazy_commands:
            return found
        # an import builds thousands of objects that live as long as the process: collections
        # meanwhile would only walk them again and again (about 15 ms of a plan's start-up)
        with gc_paused(promote=True):
            module = importlib.import_module(f"rmapply.cli.{self.lazy_commands[cmd_name]}")
        from rmapply.cli.conventions import adopt

        for command in module.COMMANDS:
            adopt(command, command.name or "")
            self.add_command(command)
        return super().get_command(ctx, cmd_name)

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        """Run the CLI; exits 0, 1 or (with --detailed-exitcode) 2."""
        given = list(args if args is not None else sys.argv[1:])
        skip_pydantic_plugins()
        debug = "--debug" in given
        no_color = "--no-color" in given  # the error too, printed once click is done
        try:
            result = super().main(
                args=args,
                prog_name=prog_name,
                complete_var=complete_var,
                standalone_mode=False,
                **extra,
            )
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)
        except click.exceptions.Abort as exc:
            # click turns a Ctrl-C inside a command into Abort: it is still an interruption (130)
            if isinstance(exc.__context__, KeyboardInterrupt):
                click.echo("Interrupted.", err=True)
                sys.exit(EXIT_INTERRUPTED)
            click.echo("Aborted.", err=True)
            sys.exit(EXIT_ERROR)
        except click.NoSuchOption as exc:
            from rmapply.cli.dash_hints import single_dash_hint

            (single_dash_hint(exc, given) or exc).show()
            sys.exit(EXIT_ERROR)
        except click.ClickException as exc:
            exc.show()
            sys.exit(EXIT_ERROR)
        except RmapplyError as exc:
            if debug or debug_enabled():
                raise
            print_error(exc, no_color=no_color)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            sys.exit(EXIT_INTERRUPTED)
        except Exception:
            if debug or debug_enabled():
                raise
            traceback.print_exc()
            click.echo(
                "This is a bug in rmapply, not a mistake of yours; please report it "
                "with the traceback above.",
                err=True,
            )
            sys.exit(EXIT_ERROR)
        sys.exit(result if isinstance(result, int) else EXIT_OK)
