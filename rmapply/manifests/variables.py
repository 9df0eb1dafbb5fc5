"""Template variables and their precedence: rmapply.toml, var files, environment, --var."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from rmapply.config import VARIABLE_NAME, ProjectConfig
from rmapply.errors import ConfigError, ManifestError, ManifestProblem
from rmapply.manifests.discover import VARS_DIR
from rmapply.manifests.limits import MAX_DEPTH, MAX_FILE_BYTES
from rmapply.manifests.parse import inspect_data, parse_data
from rmapply.manifests.template_names import RESERVED

ENV_PREFIX = "RMAPPLY_VAR_"
DEFAULT_VAR_FILES = tuple(f"{VARS_DIR}/default.{ext}" for ext in ("yaml", "yml", "toml", "json"))
VAR_FILE_FORMATS = {".yaml": "yaml", ".yml": "yaml", ".toml": "toml", ".json": "json"}


@dataclass(frozen=True)
class Variables:
    """The resolved variables, where each one was last set, and the var files that were read."""

    values: dict[str, Any] = field(default_factory=dict)
    origins: dict[str, str] = field(default_factory=dict)
    files: tuple[str, ...] = ()
    plain: bool = True  # only text keys and JSON values: JSON text tells every value apart

    @cached_property
    def digest(self) -> str:
        """Digest of the values as templates see them: key order and types count (a loop
        over a table follows its order; a date is not the text of a date)."""
        exact = self.values if self.plain else _exact(self.values)
        text = json.dumps(exact, ensure_ascii=False, separators=(",", ":"))
        return "sha256:" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _exact(value: Any) -> Any:
    """``value`` as JSON that tells apart what JSON would merge (order, key types, dates)."""
    if isinstance(value, dict):
        return {"map": [[_exact(k), _exact(v)] for k, v in value.items()]}
    if isinstance(value, list | tuple):
        return [_exact(item) for item in value]
    if value is None or isinstance(value, str | int | float):
        return value
    return {"type": type(value).__qualname__, "text": str(value)}


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
    if not VARIABLE_NAME.fullmatch(name):
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


def load_var_file(directory: Path, given: str | Path) -> tuple[str, dict[str, Any], bool]:
    """Read one variable file (relative paths are relative to the manifests directory):
    (name to show, data, whether the data is plain JSON)."""
    path = Path(given)
    path = path if path.is_absolute() else directory / path
    try:
        display = path.resolve().relative_to(directory.resolve()).as_posix()
    except (ValueError, OSError, RuntimeError):  # outside the directory, or a link loop
        display = str(given)
    fmt = VAR_FILE_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ConfigError(f"--var-file {display}: use a .yaml, .yml, .toml or .json file")
    hint = (
        f"a relative --var-file path is relative to the manifests directory ({directory})"
        if not Path(given).is_absolute()
        else None
    )
    try:
        if not path.is_file():  # a FIFO or /dev/zero would never end
            raise ConfigError(
                f"variable file {display} does not exist or is not a regular file", hint=hint
            )
        raw = path.read_bytes() if path.stat().st_size <= MAX_FILE_BYTES else None
    except OSError as exc:
        raise ConfigError(
            f"cannot read variable file {display}: {exc.strerror}", hint=hint
        ) from exc
    if raw is None:
        limit = MAX_FILE_BYTES // 2**20
        raise ManifestError([ManifestProblem(display, message=f"larger than {limit} MiB")])
    try:
        text = raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ManifestError(
            [ManifestProblem(display, line, message="not valid UTF-8 text")]
        ) from None
    data, problems, plain = parse_data(text, fmt, display)
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
    return display, data, plain


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
    too_deep, plain = inspect_data(config.vars, "rmapply.toml")
    if too_deep:
        raise ConfigError(f"rmapply.toml [vars]: nested deeper than {MAX_DEPTH} levels")
    default = default_var_file(config.directory)
    for given in ([default] if default else []) + list(var_files):
        display, data, plain_file = load_var_file(config.directory, given)
        files.append(display)
        layers.append((display, data))
        plain = plain and plain_file
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
            if origin in ("environment", "--var") and inspect_data(value, where)[0]:
                label = f"--var {name}" if origin == "--var" else where
                raise ConfigError(f"{label}: the value is nested deeper than {MAX_DEPTH} levels")
            values[str(name)] = value
            origins[str(name)] = where
    # Values from the environment and --var are JSON or text; those of Python callers may
    # be anything.
    plain = plain and all(isinstance(v, str) for v in cli_vars.values())
    return Variables(values, origins, tuple(files), plain)
