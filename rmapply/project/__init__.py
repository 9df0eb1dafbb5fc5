"""The front door: Project.load(dir) wires config, manifests, state store and client together."""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple
from urllib.parse import urlsplit

from rmapply.config import ProjectConfig, load_config
from rmapply.errors import ConfigError, StateEndpointMismatchError
from rmapply.gc_pause import gc_paused
from rmapply.manifests import LoadResult, load_manifests
from rmapply.plain_record import PlainRecord
from rmapply.plan import CostModel, Plan, PlanOptions, RemoteView, build_plan
from rmapply.state import (
    StateDocument,
    StateSession,
    StateStore,
)
from rmapply.state.backends import open_state_store
from rmapply.state.binding import (
    LOCAL_PREFIX,
    Binding,
    BoundStateStore,
    bind_session,
    bound,
    normalise_endpoint,
)

if TYPE_CHECKING:
    # imported where used: a plan from the state alone (--no-refresh) never loads the client
    # (urllib3) or apply; ~0.1 s of a 10,000-job plan (bench/bench_plan_cli.py)
    from rmapply.apply.recovery import Resolution
    from rmapply.client import Auth, EventSink, RealityModelingClient
    from rmapply.client.transport import HttpTransport
    from rmapply.project.rebind import Rebound
    from rmapply.refresh import RefreshResult

ENV_ENDPOINT = "RMAPPLY_ENDPOINT"
# --local keeps its emulator's data and its own state here, so a rehearsal never reads or
# writes the project's real state file (docs/state.md, "--local")
LOCAL_DIR = ".rmapply"
LOCAL_DATA = "emulator.sqlite3"
LOCAL_STATE = Path(LOCAL_DIR) / "local" / "state.json"


# Endpoint and Planned are named tuples: built at import for a third of a dataclass's cost
# (neither is ever compared).
class Endpoint(NamedTuple):
    """Where the API is and how to authenticate: a URL, and a token for the embedded emulator."""

    url: str
    source: str  # "--endpoint", "RMAPPLY_ENDPOINT", "rmapply.toml", "default" or "--local"
    local_token: str | None = None
    # --local: the embedded emulator's in-process transport (the client then skips HTTP)
    transport: HttpTransport | None = None

    def __repr__(self) -> str:
        # the token and transport left out, as the dataclass's repr=False left them
        return f"Endpoint(url={self.url!r}, source={self.source!r})"

    @property
    def is_local(self) -> bool:
        """True for the embedded emulator started by ``--local``."""
        return self.local_token is not None


class Planned(NamedTuple):
    """A plan with everything it was made from (apply and ``--out`` need all of it)."""

    loaded: LoadResult
    document: StateDocument
    state_existed: bool
    refreshed: RefreshResult | None
    plan: Plan


def _parsed(endpoint: Endpoint) -> Endpoint:
    """``endpoint`` once its URL parses (a typo such as ``http://[::1`` or port 99999 is a
    ConfigError naming where the URL came from, never a traceback)."""
    try:
        urlsplit(endpoint.url).port  # noqa: B018 - parsing the port is the check
    except ValueError as exc:
        raise ConfigError(
            f"endpoint {endpoint.url!r} ({endpoint.source}) is not a valid URL: {exc}",
            hint="use a URL such as https://api.bentley.com/contextcapture (--endpoint, "
            "RMAPPLY_ENDPOINT or [api] endpoint in rmapply.toml)",
        ) from exc
    return endpoint


# Written out as @dataclass made it (PlainRecord; the repr without environ): the decorator
# costs a dozen times as much at import, and every command imports this class.
class Project(PlainRecord):
    """A manifests directory with its configuration and state store."""

    _FIELDS = ("directory", "config", "store", "environ", "binding", "ignore_previous_state")
    _HIDDEN = frozenset({"environ"})  # the repr never shows the environment

    def __init__(  # noqa: PLR0917 - the dataclass's signature, kept for its callers
        self,
        directory: Path,
        config: ProjectConfig,
        store: StateStore,
        environ: Mapping[str, str] | None = None,
        binding: Binding | None = None,
        ignore_previous_state: bool = False,
    ) -> None:
        self.directory = directory
        self.config = config
        self.store = store
        self.environ: Mapping[str, str] = dict(os.environ) if environ is None else environ
        # set by use_endpoint: what the state must be bound to (None: no endpoint chosen yet)
        self.binding = binding
        # start empty beside traces of an earlier state (--ignore-previous-state), --local too
        self.ignore_previous_state = ignore_previous_state

    @classmethod
    def load(
        cls,
        directory: Path | str,
        *,
        environ: Mapping[str, str] | None = None,
        ignore_previous_state: bool = False,
    ) -> Project:
        """Read rmapply.toml of ``directory``; ConfigError when it is not a project directory.

        ``ignore_previous_state``: start from an empty state although traces of an earlier one
        remain beside a missing or empty state file (else every read of the state refuses).
        """
        path = Path(directory)
        if not path.is_dir():
            raise ConfigError(
                f"{path} is not a directory",
                hint="pass -C with the manifests directory (the one holding rmapply.toml)",
            )
        config = load_config(path).require_file()
        env = dict(os.environ if environ is None else environ)
        where = "" if path == Path(".") else f" -C {shlex.quote(str(path))}"
        store = open_state_store(
            config.state,
            config.directory,
            ignore_previous_state=ignore_previous_state,
            restore_command=f"rmapply state restore{where}",
        )
        return cls(path, config, store, env, ignore_previous_state=ignore_previous_state)

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
            return _parsed(Endpoint(override.rstrip("/"), "--endpoint"))
        from_env = self.environ.get(ENV_ENDPOINT, "").strip()
        if from_env:
            return _parsed(Endpoint(from_env.rstrip("/"), ENV_ENDPOINT))
        source = "rmapply.toml" if "endpoint" in self.config.api.model_fields_set else "default"
        return _parsed(Endpoint(self.config.api.endpoint.rstrip("/"), source))

    def use_local_state(self) -> None:
        """Work with the ``--local`` state under ``.rmapply/``, never the real state file."""
        where = "" if self.directory == Path(".") else f" -C {shlex.quote(str(self.directory))}"
        self.store = open_state_store(
            self.config.state,
            self.directory,
            local_file=self.directory / LOCAL_STATE,
            ignore_previous_state=self.ignore_previous_state,
            # a hint must restore the rehearsal's state, never the project's real one
            restore_command=f"rmapply state restore{where} --local",
        )

    def binding_of(self, endpoint: Endpoint) -> Binding:
        """What a state used with ``endpoint`` is bound to (``--local``: not its port)."""
        where = f"{LOCAL_PREFIX}{LOCAL_DIR}/{LOCAL_DATA}" if endpoint.is_local else endpoint.url
        return Binding(normalise_endpoint(where), self.config.itwin_id)

    def use_endpoint(self, endpoint: Endpoint) -> None:
        """Talk to ``endpoint`` from now on: every later load or lock of the state refuses a
        state bound to another endpoint or iTwin (StateEndpointMismatchError)."""
        if endpoint.is_local:
            self.use_local_state()
        self.binding = self.binding_of(endpoint)
        self.store = BoundStateStore(self.store, self.binding)

    def bind_read_back(self, session: StateSession, refreshed: RefreshResult) -> None:
        """Bind an unbound state once the refresh read one of its recorded ids back (200 and
        that very id); a refresh that read nothing never binds."""
        if self.binding is None:
            return
        view = refreshed.view
        answered = [i for i, job in view.jobs.items() if job.id == i]
        answered += [i for i, workspace in view.workspaces.items() if workspace.id == i]
        bind_session(session, self.binding, answered)

    def rebind(
        self, endpoint: Endpoint, *, itwin_id: str | None, lock_timeout: float = 0.0
    ) -> Rebound:
        """Bind the state to ``endpoint`` (and ``itwin_id``) once it answers recorded ids.

        Up to REBIND_SAMPLE recorded ids (the first addresses in order) are read with GETs;
        each must answer 200 with the API's JSON and that very id (and iTwin, for a job or
        workspace that names one). Otherwise StateEndpointMismatchError says what was seen and
        nothing is written.
        """
        from rmapply.project.rebind import REBIND_SAMPLE, Rebound, read_back_problem

        binding = Binding(normalise_endpoint(endpoint.url), itwin_id or self.config.itwin_id)
        if not self.store.exists():
            raise ConfigError(
                f"there is no state file {self.store.location} to rebind",
                hint="check -C and [state] path; a new state is bound by its first apply",
            )
        with self.store.lock("state rebind", lock_timeout) as session:
            document = session.document
            sample = [document.resources[a] for a in sorted(document.resources)][:REBIND_SAMPLE]
            with self.client(endpoint, parallelism=1) as client:
                problems = [p for r in sample if (p := read_back_problem(client, r, binding))]
            if problems:
                raise StateEndpointMismatchError(
                    f"{binding.endpoint} did not answer the ids recorded in state file "
                    f"{self.store.location} as the Reality Modeling API does; the state was "
                    "not changed:\n" + "\n".join(f"  {problem}" for problem in problems),
                    hint="check the URL (and the token: RMAPPLY_TOKEN or client credentials); "
                    "rebind only to the service that holds these jobs",
                )
            previous = document.endpoint
            session.save(bound(document, binding))
        return Rebound(binding, previous, tuple(r.address for r in sample))

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
        with gc_paused(promote=True):  # urllib3 and the client's modules: long-lived objects
            from rmapply.client import RealityModelingClient, RetryPolicy

        workers = parallelism or self.config.apply.parallelism
        budget = self.config.api.retry_budget if retry_budget is None else retry_budget
        return RealityModelingClient(
            endpoint.url,
            self.auth(endpoint),
            pool_size=max(16, workers * 2),
            on_event=on_event,
            timeout=(10.0, self.config.api.read_timeout),
            retry=RetryPolicy(retry_budget=budget),
            transport=endpoint.transport,
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
        replace: Sequence[str] = (),
        refresh_only: bool = False,
        cancel_replaced: bool = False,
        cancel_removed: bool = False,
        max_cost: float | None = None,
    ) -> PlanOptions:
        """Plan options from the flags, with ``[budget] maxCost`` and ``[cost]`` of rmapply.toml."""
        return PlanOptions(
            targets=tuple(targets),
            replace=tuple(replace),
            refresh_only=refresh_only,
            cancel_replaced=cancel_replaced,
            cancel_removed=cancel_removed,
            max_cost=max_cost if max_cost is not None else self.config.budget.max_cost,
            max_cost_source="--max-cost" if max_cost is not None else "[budget] maxCost",
            cost_model=self.cost_model(),
            in_flight_margin=self.config.api.in_flight_margin,
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
        allow_mass_removal: bool = False,
    ) -> Planned:
        """Load state, refresh it through ``client`` when given, and build the plan.

        With ``settle`` (and a client), requests of unknown outcome from an earlier apply are
        settled first from what the service shows (``resolve_pending``): read-only, the plan is
        made as if they were recorded, as apply will; with ``session`` (``plan --out``, which
        holds the lock) the verdicts are recorded, so the saved plan matches the state.
        A refresh that proves more than half of the resources in state gone raises PlanError
        unless ``allow_mass_removal``.
        """
        current = session.document if session is not None else document
        if current is None:
            current = self.store.load()
        state_existed = self.store.exists()
        resolutions: list[Resolution] = []
        if settle and client is not None and current.pending:
            from rmapply.apply.recovery import resolve_pending

            margin = self.config.api.in_flight_margin
            if session is not None:
                resolutions = resolve_pending(session, client, now, margin=margin)
                session.checkpoint()  # a saved plan names the serial that holds the verdicts
                current = session.document
            else:
                resolutions = resolve_pending(current, client, now, margin=margin)
                from rmapply.project.verdicts import settled_document

                current = settled_document(current, resolutions, now)
        refreshed: RefreshResult | None = None
        view: RemoteView | None = None
        if client is not None:
            from rmapply.refresh import check_mass_removal, refresh  # only a refresh reads remotely

            refreshed = refresh(
                client,
                current,
                itwin_id=self.config.itwin_id,
                parallelism=parallelism or self.config.apply.parallelism,
            )
            view = refreshed.view
            check_mass_removal(current, refreshed, allowed=allow_mass_removal)
            if session is not None:
                self.bind_read_back(session, refreshed)
                current = session.document
        plan = build_plan(loaded.desired, current, view, now=now, options=options)
        if resolutions:
            from rmapply.project.verdicts import with_verdicts

            plan = with_verdicts(plan, resolutions, recorded=session is not None)
        return Planned(loaded, current, state_existed, refreshed, plan)


__all__ = [
    "ENV_ENDPOINT",
    "LOCAL_DATA",
    "LOCAL_DIR",
    "LOCAL_STATE",
    "Endpoint",
    "Planned",
    "Project",
]
