"""ProjectConfig: the project settings in ``rmapply.toml`` at the top of the manifests directory."""

# Annotations are objects here, not strings (no ``from __future__ import annotations``):
# pydantic would compile and evaluate each string of each model class at import.

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from rmapply.errors import ConfigError, ManifestProblem
from rmapply.wire.aliases import camel_alias

try:  # the manifests' TOML parser (rmapply.manifests.parse): one TOML library imported, not two
    import tomli as tomllib
except ImportError:  # pragma: no cover - tomllib is the reference fallback
    import tomllib  # type: ignore[no-redef]
from rmapply.wire import DEFAULT_ENDPOINT, Quality

if TYPE_CHECKING:  # a type only: reading rmapply.toml never needs the job bodies' models
    from rmapply.wire import CostEstimationParameters

CONFIG_FILE = "rmapply.toml"
DEFAULT_TOKEN_URL = "https://ims.bentley.com/connect/token"
DEFAULT_STATE_PATH = "rmapply.state.json"
DEFAULT_KEPT_VERSIONS = 5
DEFAULT_RETRY_BUDGET = 900.0  # seconds: 15 minutes of 429s before a request fails
MAX_CONFIG_BYTES = 1024 * 1024
GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
VARIABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class _Section(BaseModel):
    """A table of rmapply.toml: camelCase keys, unknown keys refused."""

    model_config = ConfigDict(
        alias_generator=camel_alias,
        populate_by_name=False,
        extra="forbid",
        frozen=True,
        defer_build=True,
    )


class ProjectSection(_Section):
    """``[project]``: the iTwin the manifests belong to."""

    i_twin_id: str | None = Field(default=None, alias="iTwinId")
    name: str | None = None

    @field_validator("i_twin_id")
    @classmethod
    def _guid(cls, value: str | None) -> str | None:
        if value is not None and not GUID.fullmatch(value):
            raise ValueError(f"{value!r} is not an iTwin id (a GUID like 3fa85f64-5717-...)")
        return value


class ApiSection(_Section):
    """``[api]``: where the Reality Modeling service and the token endpoint are, and how long
    one request may stay rate limited (seconds) before it fails."""

    endpoint: str = DEFAULT_ENDPOINT
    token_url: str = DEFAULT_TOKEN_URL
    # seconds the client waits for an answer; a create whose answer was lost is judged "not
    # created" only once readTimeout + inFlightMargin passed since it was sent (docs/apply.md)
    read_timeout: float = Field(default=60.0, gt=0, le=3600)
    in_flight_margin: float = Field(default=60.0, ge=0, le=86400)
    retry_budget: float = Field(default=DEFAULT_RETRY_BUDGET, ge=0)

    @field_validator("endpoint", "token_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not re.match(r"^https?://[^\s/]+", value):
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value.rstrip("/")


class StateSection(_Section):
    """``[state]``: where the state file lives (relative to the manifests directory), and how
    many earlier versions of it are kept."""

    # which StateStore holds the state (rmapply.state.backends.open_state_store picks it)
    backend: Literal["local", "postgres"] = "local"
    path: str = DEFAULT_STATE_PATH
    versions: int = Field(default=DEFAULT_KEPT_VERSIONS, ge=1, le=1000)
    # postgres: where (RMAPPLY_STATE_URL wins), under which key, in which schema
    url: str | None = None
    key: str | None = Field(default=None, min_length=1, max_length=200)
    schema_: str = Field(default="rmapply", alias="schema", pattern=r"^[a-z_][a-z0-9_]{0,62}$")

    @field_validator("url")
    @classmethod
    def _no_password(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not re.match(r"^postgres(ql)?://", value):
            raise ValueError(f"{value!r} is not a postgresql:// URL")
        if re.match(r"^postgres(ql)?://[^/@]*:[^/@]*@", value) or "password=" in value:
            # a password in a file that is committed to git is a leaked password
            raise ValueError(
                "a password does not belong in rmapply.toml: give it in RMAPPLY_STATE_URL, "
                "PGPASSWORD or ~/.pgpass"
            )
        return value

    @model_validator(mode="after")
    def _key_for_postgres(self) -> "StateSection":
        if self.backend == "postgres" and self.key is None:
            raise ValueError(
                'key: required with backend = "postgres" (it names this project\'s state '
                "in the database)"
            )
        return self


class DefaultsSection(_Section):
    """``[defaults]``: reconciler fields applied to every job that does not set them."""

    submit: bool = True
    retry_failed: bool = False


class BudgetSection(_Section):
    """``[budget]``: plan and apply fail when the estimated total is above ``maxCost``."""

    max_cost: float | None = Field(default=None, ge=0)


class CostSection(_Section):
    """``[cost]``: the local cost model, the same formula as the emulator's."""

    giga_pixel_rate: float = Field(default=1.0, ge=0)
    mega_point_rate: float = Field(default=0.1, ge=0)
    draft_factor: float = Field(default=0.5, ge=0)
    medium_factor: float = Field(default=1.0, ge=0)
    extra_factor: float = Field(default=1.5, ge=0)

    def factor(self, quality: Quality | None) -> float:
        """The quality factor; a missing quality prices as Medium."""
        if quality is Quality.DRAFT:
            return self.draft_factor
        if quality is Quality.EXTRA:
            return self.extra_factor
        return self.medium_factor

    def estimate(self, params: "CostEstimationParameters | None") -> float:
        """``(gigaPixels*gigaPixelRate + megaPoints*megaPointRate) * factor(meshQuality)``."""
        if params is None:
            return 0.0
        base = (params.giga_pixels or 0.0) * self.giga_pixel_rate
        base += (params.mega_points or 0.0) * self.mega_point_rate
        return base * self.factor(params.mesh_quality)


class ApplySection(_Section):
    """``[apply]``: how many API calls apply runs at once."""

    parallelism: int = Field(default=8, ge=1, le=64)


class ProjectConfig(_Section):
    """Everything in rmapply.toml; every table and key is optional."""

    # the defaults are constructed (every field at its default), not validated: importing this
    # module then builds no section's validator (ProjectConfig's own covers every table)
    project: ProjectSection = ProjectSection.model_construct()
    api: ApiSection = ApiSection.model_construct()
    state: StateSection = StateSection.model_construct()
    defaults: DefaultsSection = DefaultsSection.model_construct()
    vars: dict[str, Any] = Field(default_factory=dict)
    budget: BudgetSection = BudgetSection.model_construct()
    cost: CostSection = CostSection.model_construct()
    apply: ApplySection = ApplySection.model_construct()
    # Where the file was found; not keys of the file.
    _directory: Path = PrivateAttr(default=Path("."))
    _found: bool = PrivateAttr(default=False)

    @field_validator("vars")
    @classmethod
    def _variable_names(cls, value: dict[str, Any]) -> dict[str, Any]:
        for name in value:
            if not VARIABLE_NAME.fullmatch(name):
                raise ValueError(f"{name!r} is not a variable name (use [A-Za-z_][A-Za-z0-9_]*)")
        return value

    @classmethod
    def at(cls, directory: Path, data: dict[str, Any] | None = None) -> "ProjectConfig":
        """Validate ``data`` (the tables of rmapply.toml) for the manifests ``directory``."""
        config = cls.model_validate(data or {})
        config._directory = directory
        config._found = data is not None
        return config

    @property
    def directory(self) -> Path:
        """The manifests directory (where rmapply.toml is or would be)."""
        return self._directory

    @property
    def found(self) -> bool:
        """True when the settings came from an rmapply.toml file."""
        return self._found

    @property
    def itwin_id(self) -> str | None:
        """The project's iTwin id, if configured."""
        return self.project.i_twin_id

    @property
    def state_path(self) -> Path:
        """The state file, resolved against the manifests directory."""
        return self.directory / self.state.path

    def require_file(self) -> "ProjectConfig":
        """Self, or ConfigError when there is no rmapply.toml (plan and apply need one)."""
        if not self.found:
            raise ConfigError(
                f"no {CONFIG_FILE} in {self.directory}",
                hint="run 'rmapply init' or pass -C with the manifests directory",
            )
        return self


def load_config(directory: Path) -> ProjectConfig:
    """Read ``directory/rmapply.toml``; defaults (``found=False``) when the file is absent."""
    path = directory / CONFIG_FILE
    if not path.exists() and not path.is_symlink():
        return ProjectConfig.at(directory)
    if not path.is_file():  # a folder, a broken link, a FIFO that would never end
        raise ConfigError(
            f"{path} is not a regular file",
            hint=f"{CONFIG_FILE} holds the project settings; see docs/manifests.md",
        )
    try:
        with path.open("rb") as stream:
            raw = stream.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from exc
    return parse_config(raw, directory=directory, display=str(path))


def parse_config(raw: bytes, *, directory: Path, display: str = CONFIG_FILE) -> ProjectConfig:
    """Parse the bytes of an rmapply.toml; ConfigError lists every problem as ``file:line``."""
    if len(raw) > MAX_CONFIG_BYTES:
        raise _config_error([ManifestProblem(display, message="larger than 1 MiB")])
    try:
        text = raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        problem = ManifestProblem(display, line, message="not valid UTF-8 text")
        raise _config_error([problem]) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        from rmapply.config.problems import decode_position, first_definition

        line, column = decode_position(str(exc))
        message = re.sub(r"\s*\(at .*\)$", "", str(exc))
        first = first_definition(text, message, line)
        if first:
            message = f"defined twice (first at line {first})"
        problem = ManifestProblem(display, line, column, message=f"invalid TOML: {message}")
        raise _config_error([problem]) from None
    except RecursionError:
        raise _config_error([ManifestProblem(display, message="nested too deeply")]) from None
    try:
        return ProjectConfig.at(directory, data)
    except ValidationError as exc:
        from rmapply.config.problems import located_problem

        problems = [located_problem(display, text, error) for error in exc.errors()]
        raise _config_error(problems) from None


def _config_error(problems: list[ManifestProblem]) -> ConfigError:
    lines = "\n".join(p.render() for p in sorted(problems))
    noun = "problem" if len(problems) == 1 else "problems"
    return ConfigError(
        f"{len(problems)} {noun} in {CONFIG_FILE}:\n{lines}",
        hint="fix rmapply.toml; every table and key is described in docs/manifests.md",
    )
