"""Emulator: one running emulator (server thread, database, clock), and its in-process controls."""

from __future__ import annotations

import json
import socket
import sys
import threading
from collections import Counter
from types import TracebackType
from typing import TYPE_CHECKING, Any

from rmapply.emulator.auth import Authenticator
from rmapply.emulator.backend import Backend
from rmapply.emulator.faults import Faults
from rmapply.emulator.lifecycle import SimClock
from rmapply.emulator.options import EmulatorOptions
from rmapply.emulator.routes import API_PREFIX, TOKEN_PATH, Answer, Application
from rmapply.emulator.startup import bind, load_tls, open_store, reserve
from rmapply.emulator.storage import Store
from rmapply.wire import Job, Workspace

if TYPE_CHECKING:
    import ssl

    # imported by listen(): an emulator that only reserves its port loads no http.server
    from rmapply.emulator.server import EmulatorHTTPServer

_CLOCK_KEY = "clock"


class Emulator:
    """A local Reality Modeling service over real HTTP; use as a context manager or start/stop."""

    def __init__(self, options: EmulatorOptions | None = None) -> None:
        self.options = options or EmulatorOptions()
        found = self.options.problems()
        if found:
            raise ValueError("invalid emulator options: " + "; ".join(found))
        self._server: EmulatorHTTPServer | None = None
        # start(listen=False): the bound socket that listen() will serve on, until then
        self._reserved: socket.socket | None = None
        self._tls: ssl.SSLContext | None = None
        self._thread: threading.Thread | None = None
        self._store: Store | None = None
        self._clock: SimClock | None = None
        self._app: Application | None = None
        self._lock = threading.Lock()

    # life --------------------------------------------------------------------------------------
    def start(self, *, listen: bool = True) -> Emulator:
        """Open the database, bind the port and serve in a background thread.

        ``listen=False`` (``--local``, whose requests go to ``handle`` in process): the port is
        only reserved (bound, so the URLs name it; a connection is refused) until ``listen()``;
        no HTTP server is imported or started. Raises ConfigError when the database, the
        certificate or the address cannot be used.
        """
        with self._lock:
            if self._app is not None:
                return self
            store = open_store(self.options.data)
            try:
                anchor, advanced = _load_clock(store)
                clock = SimClock(self.options.speed, anchor, advanced)
                backend = Backend(store, clock, self.options)
                app = Application(backend, Authenticator(store, clock, self.options),
                                  Faults(self.options, clock))  # fmt: skip
                tls = None
                if self.options.tls_cert is not None and self.options.tls_key is not None:
                    tls = load_tls(self.options.tls_cert, self.options.tls_key)
                server = bind(self.options.host, self.options.port, app, tls) if listen else None
                reserved = None if listen else reserve(self.options.host, self.options.port)
            except BaseException:
                store.close()
                raise
            self._store, self._clock, self._app, self._tls = store, clock, app, tls
            self._server, self._reserved = server, reserved
            app.base_url = self.base_url
            self._save_clock()
            if server is not None:
                self._serve(server)
            return self

    def listen(self) -> None:
        """Serve on the reserved port from now on (after ``start(listen=False)``); nothing
        when the emulator listens already."""
        with self._lock:
            reserved = self._reserved
            if reserved is None:
                return
            app = self._application()
            server = bind(self.options.host, self.port_of(reserved), app, self._tls, reserved)
            self._server, self._reserved = server, None
            self._serve(server)

    def _serve(self, server: EmulatorHTTPServer) -> None:
        from rmapply.emulator.server import serve_in_thread  # http.server: only to listen

        self._thread = serve_in_thread(server)

    def stop(self) -> None:
        """Stop serving, persist the clock and close the database."""
        with self._lock:
            if self._app is None:
                return
            server, self._server, self._app = self._server, None, None
            reserved, self._reserved = self._reserved, None
            if reserved is not None:
                reserved.close()
            if server is not None:
                server.shutdown()
                server.server_close()
                server.close_connections()
            if self._thread is not None:
                self._thread.join(timeout=5)
                self._thread = None
            self._save_clock()
            assert self._store is not None
            self._store.close()

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # addresses ---------------------------------------------------------------------------------
    @property
    def port(self) -> int:
        """The bound port (the free port chosen for ``port=0``)."""
        self._running()
        if self._server is not None:
            return int(self._server.server_address[1])
        assert self._reserved is not None
        return self.port_of(self._reserved)

    @staticmethod
    def port_of(sock: socket.socket) -> int:
        """The port ``sock`` is bound to."""
        return int(sock.getsockname()[1])

    @property
    def root_url(self) -> str:
        """``scheme://host:port`` of the running server."""
        self._running()
        scheme = "https" if self._tls is not None else "http"
        host = self.options.host
        if host in ("", "0.0.0.0"):
            host = "127.0.0.1"
        elif ":" in host:
            host = f"[{host}]"
        return f"{scheme}://{host}:{self.port}"

    @property
    def base_url(self) -> str:
        """The API base URL, e.g. ``http://127.0.0.1:PORT/contextcapture``."""
        return self.root_url + API_PREFIX

    @property
    def token_url(self) -> str:
        """The IMS-like token endpoint, e.g. ``http://127.0.0.1:PORT/connect/token``."""
        return self.root_url + TOKEN_PATH

    # faults ------------------------------------------------------------------------------------
    def set_faults(self, **settings: Any) -> None:
        """Change latency_ms, jitter_ms, post_latency_ms, post_jitter_ms, rate_limit (None =
        off), rate_limit_burst, fail_rate, drop_rate or seed."""
        self._application().faults.set(**settings)

    def drop_next(
        self, n: int = 1, method: str | None = "POST", path_prefix: str = "/contextcapture/jobs"
    ) -> None:
        """Process the next ``n`` matching requests, then close the connection unanswered."""
        self._application().faults.drop_next(n, method, path_prefix)

    def throttle_next(
        self,
        n: int = 1,
        retry_after: int = 1,
        method: str | None = None,
        path_prefix: str = API_PREFIX,
    ) -> None:
        """Answer the next ``n`` matching requests with 429 and ``Retry-After: retry_after``."""
        self._application().faults.throttle_next(n, retry_after, method, path_prefix)

    def fail_next(
        self,
        n: int = 1,
        status: int = 503,
        method: str | None = None,
        path_prefix: str = API_PREFIX,
    ) -> None:
        """Answer the next ``n`` matching requests with ``status``, before processing them."""
        self._application().faults.fail_next(n, status, method, path_prefix)

    def delay_next(
        self,
        n: int = 1,
        seconds: float = 1.0,
        method: str | None = "POST",
        path_prefix: str = "/contextcapture/jobs",
    ) -> None:
        """Hold the next ``n`` matching requests ``seconds`` longer before processing them (a
        create still in flight while other requests are answered)."""
        self._application().faults.delay_next(n, round(seconds * 1000), method, path_prefix)

    def blank_outputs_next(self, n: int = 1) -> None:
        """Answer the next ``n`` job creates without their output ids (formats only); the jobs
        keep their ids, so a later GET or listing shows them."""
        self._application().faults.blank_outputs_next(n)

    def clear_faults(self) -> None:
        """Forget pending delay/drop/throttle/fail switches (rates are kept; see set_faults)."""
        self._application().faults.clear()

    # clock -------------------------------------------------------------------------------------
    def advance(self, seconds: float) -> None:
        """Move the simulated clock (and token/rate-limit time) forward by ``seconds``."""
        self._running_clock().advance(seconds)
        self._save_clock()

    def set_speed(self, speed: float) -> None:
        """Change how many simulated seconds pass per real second."""
        self._running_clock().set_speed(speed)
        self._save_clock()

    def now_ms(self) -> int:
        """The simulated time in milliseconds since the epoch."""
        return self._running_clock().now_ms()

    # records -----------------------------------------------------------------------------------
    def jobs(self) -> list[Job]:
        """Every job as the API would show it now, in creation order."""
        return self._application().backend.all_jobs()

    def job(self, job_id: str) -> Job | None:
        """One job as the API would show it now, or None."""
        return self._application().backend.find_job(job_id)

    def workspaces(self) -> list[Workspace]:
        """Every workspace, in creation order."""
        return self._application().backend.workspaces()

    def request_count(self, method: str | None = None, path_prefix: str | None = None) -> int:
        """Requests received (answered or not), optionally of one method under a path prefix."""
        return self._application().request_count(method, path_prefix)

    def request_tally(self) -> Counter[str]:
        """Requests received by method and route, ids written ``{id}`` (``rmapply serve``
        prints it when it stops)."""
        return self._application().request_tally()

    def rate_limited_count(self) -> int:
        """Requests answered 429, by the rate limit or by ``throttle_next``."""
        return self._application().faults.rate_limited

    def fail_job(self, job_id: str, message: str = "Processing failed (injected).") -> None:
        """Make the job end ``failed`` with ``message`` when it runs."""
        self._application().backend.fail_job(job_id, message)

    def set_max_engines(self, max_engines: int) -> None:
        """Change the engines limit reported by /limits/engines and enforced on jobs."""
        self._application().backend.max_engines = max_engines

    def issue_token(self, client_id: str = "emulator-client") -> str:
        """A fresh access token as the token endpoint would issue it for ``client_id``."""
        return self._application().auth.issue_for(client_id)

    def expire_tokens(self) -> None:
        """Make every issued token expire now (the next call with one gets 401)."""
        self._application().auth.expire_all()

    @property
    def internal_errors(self) -> list[str]:
        """Tracebacks of emulator bugs answered with 500 (empty in a healthy run)."""
        return list(self._application().internal_errors)

    # internals ---------------------------------------------------------------------------------
    def _running(self) -> None:
        if self._app is None:
            raise RuntimeError("the emulator is not running; call start() first")

    def handle(self, method: str, target: str, authorization: str | None, body: bytes) -> Answer:
        """Answer one request in this process, exactly as the server does for a request to
        ``target`` (path and query) that arrived on its port."""
        return self._application().handle(method, target, authorization, body)

    def clock_seconds(self) -> float:
        """The service's clock, as its ``Date`` headers give it."""
        return self._application().clock_seconds()

    def _application(self) -> Application:
        self._running()
        assert self._app is not None
        return self._app

    def _running_clock(self) -> SimClock:
        self._running()
        assert self._clock is not None
        return self._clock

    def _save_clock(self) -> None:
        if self._store is None or self._clock is None:
            return
        wall, sim, speed = self._clock.checkpoint()
        value = {
            "wall_ms": wall,
            "sim_ms": sim,
            "speed": speed,
            "advanced_ms": self._clock.advanced_ms,
        }
        try:
            self._store.set_meta(_CLOCK_KEY, json.dumps(value))
        except Exception as exc:  # a closed database at interpreter exit is not worth a crash
            print(f"rmapply emulator: could not save the clock: {exc}", file=sys.stderr)


def _load_clock(store: Store) -> tuple[tuple[int, int, float] | None, int]:
    raw = store.get_meta(_CLOCK_KEY)
    if raw is None:
        return None, 0
    value = json.loads(raw)
    anchor = (int(value["wall_ms"]), int(value["sim_ms"]), float(value["speed"]))
    return anchor, int(value.get("advanced_ms", 0))
