"""The front door: Project.load(dir) wires config, manifests, state store and client together."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from rmapply.config import ProjectConfig, load_config
from rmapply.errors import ConfigError
from rmapply.manifests import LoadResult, load_manifests
from rmapply.model import Address
from rmapply.plan import CostModel, Plan, PlanOptions, RemoteView, Settled, build_plan
from rmapply.refresh import RefreshResult, refresh
from rmapply.state import (
    LocalStateStore,
    ResolveRecord,
    StateDocument,
    StateSession,
    StateStore,
)
from rmapply.state.replay import apply_resolve

if TYPE_CHECKING:
    # imported where used: a plan from the state alone (--no-refresh) never loads the client
    # (urllib3) or apply; ~0.1 s of a 10,000-job plan (bench/bench_plan_cli.py)
    from rmapply.apply.recovery import Resolution
    from rmapply.client import Auth, EventSink, RealityModelingClient

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
        from rmapply.client import StaticToken, auth_from_env
        from rmapply.client.auth import ENV_TOKEN_URL

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
        retry_budget: float | None = None,
    ) -> RealityModelingClient:
        """A client of ``endpoint`` with a connection pool sized for ``parallelism`` workers and
        ``retry_budget`` seconds (else ``[api] retryBudget``) for a request to stay rate limited."""
        from rmapply.client import RealityModelingClient, RetryPolicy

        workers = parallelism or self.config.apply.parallelism
        budget = self.config.api.retry_budget if retry_budget is None else retry_budget
        return RealityModelingClient(
            endpoint.url,
            self.auth(endpoint),
            pool_size=max(16, workers * 2),
            on_event=on_event,
            retry=RetryPolicy(retry_budget=budget),
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
            max_cost_source="--max-cost" if max_cost is not None else "[budget] maxCost",
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
        settle: bool = False,
        session: StateSession | None = None,
    ) -> Planned:
        """Load state, refresh it through ``client`` when given, and build the plan.

        With ``settle`` (and a client), requests of unknown outcome from an earlier apply are
        settled first from what the service shows (``resolve_pending``): read-only, the plan is
        made as if they were recorded, as apply will; with ``session`` (``plan --out``, which
        holds the lock) the verdicts are recorded, so the saved plan matches the state.
        """
        current = session.document if session is not None else document
        if current is None:
            current = self.store.load()
        state_existed = self.store.exists()
        resolutions: list[Resolution] = []
        if settle and client is not None and current.pending:
            from rmapply.apply.recovery import resolve_pending

            if session is not None:
                resolutions = resolve_pending(session, client, now)
                session.checkpoint()  # a saved plan names the serial that holds the verdicts
                current = session.document
            else:
                resolutions = resolve_pending(current, client, now)
                current = settled_document(current, resolutions, now)
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
        if resolutions:
            plan = with_verdicts(plan, resolutions, recorded=session is not None)
        return Planned(loaded, current, state_existed, refreshed, plan)


def settled_document(
    document: StateDocument, resolutions: Sequence[Resolution], now: datetime
) -> StateDocument:
    """A copy of ``document`` with the settled verdicts folded in, as apply would journal them."""
    from rmapply.apply.recovery import Outcome

    copy = document.model_copy(
        update={"resources": dict(document.resources), "pending": dict(document.pending)}
    )
    for resolution in resolutions:
        if resolution.outcome is Outcome.UNRESOLVED:
            continue
        apply_resolve(
            copy,
            ResolveRecord(
                address=resolution.address,
                upsert=resolution.record,
                remove=resolution.address if resolution.remove else None,
                at=now,
            ),
        )
    return copy


def with_verdicts(plan: Plan, resolutions: Sequence[Resolution], *, recorded: bool) -> Plan:
    """``plan`` showing the verdicts: settled ones, and the resolver's own words (candidates,
    commands) for those still unresolved."""
    from rmapply.apply.recovery import Outcome

    settled = tuple(
        Settled(
            address=Address.parse(r.address),
            operation=r.action,
            outcome=r.outcome.value,
            message=r.message,
            remote_id=r.remote_id,
            recorded=recorded,
        )
        for r in resolutions
        if r.outcome is not Outcome.UNRESOLVED
    )
    verdicts = {r.address: r for r in resolutions if r.outcome is Outcome.UNRESOLVED}
    unresolved = tuple(
        item.model_copy(
            update={
                "message": verdicts[str(item.address)].message,
                "commands": verdicts[str(item.address)].commands or item.commands,
            }
        )
        if str(item.address) in verdicts
        else item
        for item in plan.unresolved
    )
    return plan.model_copy(update={"settled": settled, "unresolved": unresolved})


__all__ = ["ENV_ENDPOINT", "Endpoint", "Planned", "Project", "settled_document", "with_verdicts"]
