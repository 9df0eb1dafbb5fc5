"""One template's rendered text as it is, parsed or not (``rmapply render --raw FILE``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rmapply.config import load_config
from rmapply.errors import ManifestError, ManifestProblem
from rmapply.manifests.render import HelperError, Renderer, template_name
from rmapply.manifests.variables import resolve_variables


def rendered_text(
    directory: Path,
    name: str,
    *,
    var_files: Sequence[str | Path] = (),
    cli_vars: Mapping[str, Any],
    environ: Mapping[str, str],
) -> str:
    """The text the template ``name`` (relative to ``directory``) renders to, with the
    project's variables; ManifestError when it does not render at all."""
    try:
        name = template_name(name)
    except HelperError as exc:
        raise ManifestError([ManifestProblem(name, message=str(exc))]) from None
    if not (directory / name).is_file():
        raise ManifestError(
            [ManifestProblem(name, message=f"no such file in {directory}")],
            hint="name the template by its path below the manifests directory (-C)",
        )
    variables = resolve_variables(
        load_config(directory), var_files=var_files, environ=environ, cli_vars=cli_vars
    )
    rendered, problems = Renderer(directory, variables.values, environ).render(name)
    if rendered is None:
        raise ManifestError(problems)
    return rendered.text
