"""The front door: Project.load(dir) wires config, manifests, state store and client together."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from rmapply.client import Auth, EventSink, RealityModelingClient, StaticToken, auth_from_env
from rmapply.client.auth import ENV_TOKEN_URL
from rmapply.config import ProjectConfig, load_config
from rmapply.errors import ConfigError
from rmapply.manifests import LoadResult, load_manifests
from rmapply.plan import CostModel, Plan, PlanOptions, RemoteView, build_plan
from rmapply.refresh import RefreshResult, refresh
from rmapply.state import LocalStateStore, StateDocument, StateStore

ENV_ENDPOINT = "RMAPPLY_ENDPOINT"


@dataclass(frozen=True)
class Endpoint:
    """Where the API is and how to authenticate: a URL, and a token for the embedded emulator."""

    url: str
    source: str  # "--endpoint", "RMAPPLY_ENDPOINT", "rmapply.toml", "default" or "--local"
    local_token: str | None = field(default=None, repr=False)

    @property
    def is_local(self) -> bool:
        """True for the embedded emulator started by ``--local``."""
        return self.local_token is not None


@dataclass(frozen=True)
class Planned:
    """A plan with everything it was made from (apply and ``--out`` need all of it)."""

    loaded: LoadResult
    document: StateDocument
    state_existed: bool
    refreshed: RefreshResult | None
    plan: Plan


@dataclass
class Project:
    """A manifests directory with its configuration and state store."""

    directory: Path
    config: ProjectConfig
    store: StateStore
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ), repr=False)

    @classmethod
    def load(cls, directory: Path | str, *, environ: Mapping[str, str] | None = None) -> Project:
        """Read rmapply.toml of ``directory``; ConfigError when it is not a project directory."""
        path = Path(directory)
        if not path.is_dir():
            raise ConfigError(
                f"{path} is not a directory",
                hint="pass -C with the manifests directory (the one holding rmapply.toml)",
            )
        config = load_config(path).require_file()
        env = dict(os.environ if environ is None else environ)
        return cls(path, config, LocalStateStore(config.state_path), env)

    def manifests(
        self, *, var_files: Sequence[Path] = (), cli_vars: Mapping[str, str] | None = None
    ) -> LoadResult:
        """Render, parse and validate the manifests (ManifestError lists every problem)."""
        return load_manifests(
            self.directory, var_files=var_files, cli_vars=dict(cli_vars or {}), environ=self.environ
        )

    def endpoint(self, override: str | None = None) -> Endpoint:
        """The endpoint chosen by ``--endpoint``, ``RMAPPLY_ENDPOINT`` or ``[api] endpoint``."""
        if override:
            return Endpoint(override.rstrip("/"), "--endpoint")
        from_env = self.environ.get(ENV_ENDPOINT, "").strip()
        if from_env:
            return Endpoint(from_env.rstrip("/"), ENV_ENDPOINT)
        source = "rmapply.toml" if "endpoint" in self.config.api.model_fields_set else "default"
        return Endpoint(self.config.api.endpoint.rstrip("/"), source)

    def auth(self, endpoint: Endpoint) -> Auth:
        """Credentials for ``endpoint``: the emulator's token, or the environment's."""
        if endpoint.local_token is not None:
            return StaticToken(endpoint.local_token)
        env = dict(self.environ)
        if not env.get(ENV_TOKEN_URL):
            env[ENV_TOKEN_URL] = self.config.api.token_url
        return auth_from_env(env)

    def client(
        self,
        endpoint: Endpoint,
        *,
        parallelism: int | None = None,
        on_event: EventSink | None = None,
    ) -> RealityModelingClient:
        """A client of ``endpoint`` with a connection pool sized for ``parallelism`` workers."""
        workers = parallelism or self.config.apply.parallelism
        return RealityModelingClient(
            endpoint.url,
            self.auth(endpoint),
            pool_size=max(16, workers * 2),
            on_event=on_event,
        )

    def cost_model(self) -> CostModel:
        """The local cost model, with the rates of ``[cost]`` in rmapply.toml."""
        cost = self.config.cost
        return CostModel(
            giga_pixel_rate=cost.giga_pixel_rate,
            mega_point_rate=cost.mega_point_rate,
            draft_factor=cost.draft_factor,
            medium_factor=cost.medium_factor,
            extra_factor=cost.extra_factor,
        )

    def plan_options(
        self,
        *,
        targets: Sequence[str] = (),
        refresh_only: bool = False,
        cancel_replaced: bool = False,
        cancel_removed: bool = False,
        max_cost: float | None = None,
    ) -> PlanOptions:
        """Plan options from the flags, with ``[budget] maxCost`` and ``[cost]`` of rmapply.toml."""
        return PlanOptions(
            targets=tuple(targets),
            refresh_only=refresh_only,
            cancel_replaced=cancel_replaced,
            cancel_removed=cancel_removed,
            max_cost=max_cost if max_cost is not None else self.config.budget.max_cost,
            cost_model=self.cost_model(),
        )

    def plan(
        self,
        loaded: LoadResult,
        *,
        client: RealityModelingClient | None,
        options: PlanOptions,
        now: datetime,
        document: StateDocument | None = None,
        parallelism: int | None = None,
    ) -> Planned:
        """Load state (read-only), refresh it through ``client`` when given, and build the plan."""
        state_existed = self.store.exists()
        current = document if document is not None else self.store.load()
        refreshed: RefreshResult | None = None
        view: RemoteView | None = None
        if client is not None:
            refreshed = refresh(
                client,
                current,
                itwin_id=self.config.itwin_id,
                parallelism=parallelism or self.config.apply.parallelism,
            )
            view = refreshed.view
        plan = build_plan(loaded.desired, current, view, now=now, options=options)
        return Planned(loaded, current, state_existed, refreshed, plan)


__all__ = ["ENV_ENDPOINT", "Endpoint", "Planned", "Project"]
