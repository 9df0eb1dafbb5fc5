"""``rmapply validate``, ``render``, ``schema`` and ``init``: the manifests commands."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from rmapply.cli.options import dir_option, parse_vars, var_options
from rmapply.config import GUID
from rmapply.errors import ConfigError
from rmapply.manifests import LoadResult, load_manifests
from rmapply.manifests.document import FORMATS, dump, to_document
from rmapply.manifests.raw import rendered_text
from rmapply.manifests.scaffold import PLACEHOLDER_ID, scaffold_files
from rmapply.manifests.schema import manifest_schema


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def _no_cache_option(func: click.decorators.FC) -> click.decorators.FC:
    return click.option(
        "--no-cache", is_flag=True, help="Ignore and do not write DIR/.rmapply/cache."
    )(func)


def _load(
    directory: Path, var_files: tuple[Path, ...], cli_vars: tuple[str, ...], no_cache: bool
) -> LoadResult:
    result = load_manifests(
        directory,
        var_files=var_files,
        cli_vars=parse_vars(cli_vars),
        environ=os.environ,
        use_cache=not no_cache,
    )
    for warning in result.warnings:
        click.echo(warning.render(), err=True)
    return result


@click.command("validate")
@dir_option
@var_options
@_no_cache_option
def validate(
    directory: Path, var_files: tuple[Path, ...], cli_vars: tuple[str, ...], no_cache: bool
) -> None:
    """Check the manifests: exit 0 when valid, 1 with every problem otherwise."""
    result = _load(directory, var_files, cli_vars, no_cache)
    desired = result.desired
    click.echo(
        f"Valid: {_plural(len(desired.workspaces), 'workspace')}, "
        f"{_plural(len(desired.jobs), 'job')}, {_plural(len(result.warnings), 'warning')} "
        f"in {_plural(len(result.files), 'file')}."
    )


@click.command("render")
@dir_option
@var_options
@_no_cache_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="toml",
    show_default=True,
    help="Output format; the output is itself a valid manifest.",
)
@click.option(
    "--raw",
    "raw",
    metavar="FILE",
    default=None,
    help="Print the text the template FILE renders to, as it is, even when it does not parse.",
)
def render(
    directory: Path,
    var_files: tuple[Path, ...],
    cli_vars: tuple[str, ...],
    no_cache: bool,
    fmt: str,
    raw: str | None,
) -> None:
    """Print the rendered, normalized desired resources (defaults applied).

    With --raw FILE, print what one template renders to instead, before any parsing (FILE is
    a path below the manifests directory, or one from the current directory into it).
    """
    if raw is not None:
        text = rendered_text(
            directory,
            _template_in(directory, Path(raw)),
            var_files=var_files,
            cli_vars=parse_vars(cli_vars),
            environ=os.environ,
        )
        click.echo(text, nl=False)
        return
    result = _load(directory, var_files, cli_vars, no_cache)
    click.echo(dump(to_document(result.desired), fmt), nl=False)


def _template_in(directory: Path, file: Path) -> str:
    """FILE's name below ``directory``: as given when it is there, else from the current one."""
    if not file.is_absolute() and (directory / file).is_file():
        return file.as_posix()
    if file.is_file():
        try:
            return file.resolve().relative_to(directory.resolve()).as_posix()
        except ValueError:
            raise ConfigError(
                f"{file} is not below the manifests directory {directory}",
                hint="pass -C with the directory that holds it",
            ) from None
    return file.as_posix()  # not found: rendered_text says so


@click.command("schema")
@dir_option
def schema(directory: Path) -> None:
    """Print the JSON Schema of a manifest document (for editors; see docs/manifests.md).

    The schema is the same for every directory; -C is accepted like everywhere else.
    """
    click.echo(json.dumps(manifest_schema(), indent=2, ensure_ascii=False))


@click.command("init")
@dir_option
@click.argument("target", required=False, default=".", type=click.Path(path_type=Path))
@click.option(
    "--itwin-id",
    default=PLACEHOLDER_ID,
    show_default=True,
    help="The iTwin id written to [project] iTwinId.",
)
def init(directory: Path, target: Path, itwin_id: str) -> None:
    """Create a small working project in TARGET (relative to -C); never overwrites a file."""
    if not GUID.fullmatch(itwin_id):
        raise ConfigError(
            f"--itwin-id {itwin_id!r} is not an iTwin id (a GUID like 3fa85f64-5717-...)",
            hint="copy the id of your iTwin, or leave the option out and edit rmapply.toml later",
        )
    root = target if target.is_absolute() else directory / target
    files = scaffold_files(itwin_id)
    if (root / ".gitignore").exists():  # a repository's own: leave it, never refuse for it
        files.pop(".gitignore")
        click.echo(f"kept {root / '.gitignore'}: add '.rmapply/' to it (the parse cache)")
    existing = sorted(name for name in files if (root / name).exists())
    if existing:
        raise ConfigError(
            f"refusing to overwrite existing files in {root}: {', '.join(existing)}",
            hint="run 'rmapply init' in an empty directory or remove those files",
        )
    for name, content in files.items():
        path = root / name
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("x", encoding="utf-8") as stream:
                stream.write(content)
        except OSError as exc:
            raise ConfigError(f"cannot write {path}: {exc.strerror}") from exc
        click.echo(f"created {path}")
    click.echo(f"Next: rmapply validate -C {root}")


COMMANDS: list[click.Command] = [validate, render, schema, init]
