"""Template variables and their precedence: rmapply.toml, var files, environment, --var."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from rmapply.config import VARIABLE_NAME, ProjectConfig
from rmapply.errors import ConfigError, ManifestError, ManifestProblem
from rmapply.manifests.discover import VARS_DIR
from rmapply.manifests.limits import MAX_FILE_BYTES
from rmapply.manifests.parse import parse_data
from rmapply.manifests.render import RESERVED
from rmapply.model import digest

ENV_PREFIX = "RMAPPLY_VAR_"
DEFAULT_VAR_FILES = tuple(f"{VARS_DIR}/default.{ext}" for ext in ("yaml", "yml", "toml", "json"))
VAR_FILE_FORMATS = {".yaml": "yaml", ".yml": "yaml", ".toml": "toml", ".json": "json"}


@dataclass(frozen=True)
class Variables:
    """The resolved variables, where each one was last set, and the var files that were read."""

    values: dict[str, Any] = field(default_factory=dict)
    origins: dict[str, str] = field(default_factory=dict)
    files: tuple[str, ...] = ()

    @cached_property
    def digest(self) -> str:
        """Canonical digest of the values (dates and other non-JSON values by their text)."""
        return digest(json.loads(json.dumps(self.values, default=str)))


def parse_value(text: str) -> Any:
    """A ``--var`` or environment value: JSON when it parses as JSON, else the text itself."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return text


def parse_assignment(text: str) -> tuple[str, Any]:
    """``name=value`` as given to ``--var``; ConfigError when there is no ``=`` or a bad name."""
    name, sep, value = text.partition("=")
    name = name.strip()
    if not sep:
        raise ConfigError(f"--var {text!r}: expected name=value", hint="e.g. --var 'sites=[\"a\"]'")
    _check_name(name, f"--var {text!r}")
    return name, parse_value(value)


def _check_name(name: str, where: str) -> None:
    if not VARIABLE_NAME.match(name):
        raise ConfigError(f"{where}: {name!r} is not a variable name (use [A-Za-z_][A-Za-z0-9_]*)")
    if name in RESERVED:
        raise ConfigError(
            f"{where}: {name!r} is reserved for a template helper; choose another variable name"
        )


def default_var_file(directory: Path) -> str | None:
    """``vars/default.yaml`` (or .yml, .toml, .json) when present: it is read without flags."""
    present = [name for name in DEFAULT_VAR_FILES if (directory / name).is_file()]
    if len(present) > 1:
        raise ConfigError(f"several default variable files: {', '.join(present)}; keep one")
    return present[0] if present else None


def load_var_file(directory: Path, given: str | Path) -> tuple[str, dict[str, Any]]:
    """Read one variable file (relative paths are relative to the manifests directory)."""
    path = Path(given)
    path = path if path.is_absolute() else directory / path
    try:
        display = path.resolve().relative_to(directory.resolve()).as_posix()
    except ValueError:
        display = str(given)
    fmt = VAR_FILE_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ConfigError(f"--var-file {display}: use a .yaml, .yml, .toml or .json file")
    try:
        raw = path.read_bytes() if path.stat().st_size <= MAX_FILE_BYTES else None
    except OSError as exc:
        raise ConfigError(f"cannot read variable file {display}: {exc.strerror}") from exc
    if raw is None:
        raise ManifestError([ManifestProblem(display, message="larger than 10 MiB")])
    try:
        text = raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ManifestError(
            [ManifestProblem(display, line, message="not valid UTF-8 text")]
        ) from None
    data, problems = parse_data(text, fmt, display)
    if problems:
        raise ManifestError(problems)
    if not isinstance(data, dict):
        raise ManifestError(
            [
                ManifestProblem(
                    display, 1, message="a variable file must be a mapping of name: value"
                )
            ]
        )
    return display, data


def resolve_variables(
    config: ProjectConfig,
    *,
    var_files: Sequence[str | Path] = (),
    environ: Mapping[str, str],
    cli_vars: Mapping[str, Any],
) -> Variables:
    """Variables, lowest first: [vars], vars/default.*, --var-file, RMAPPLY_VAR_*, --var."""
    values: dict[str, Any] = {}
    origins: dict[str, str] = {}
    layers: list[tuple[str, Mapping[str, Any]]] = [("rmapply.toml [vars]", config.vars)]
    files: list[str] = []
    default = default_var_file(config.directory)
    for given in ([default] if default else []) + list(var_files):
        display, data = load_var_file(config.directory, given)
        files.append(display)
        layers.append((display, data))
    environment = {
        key[len(ENV_PREFIX) :]: parse_value(value)
        for key, value in sorted(environ.items())
        if key.startswith(ENV_PREFIX)
    }
    layers.append(("environment", environment))
    # Values as typed on the command line: text is read as JSON when it parses (like --var).
    layers.append(
        ("--var", {k: parse_value(v) if isinstance(v, str) else v for k, v in cli_vars.items()})
    )
    for origin, layer in layers:
        for name, value in layer.items():
            where = f"{ENV_PREFIX}{name}" if origin == "environment" else origin
            _check_name(str(name), where)
            values[str(name)] = value
            origins[str(name)] = where
    return Variables(values, origins, tuple(files))
