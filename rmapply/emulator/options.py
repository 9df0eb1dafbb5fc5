"""EmulatorOptions: everything a running emulator can be configured with."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from rmapply.wire import Location

DEFAULT_MAX_ENGINES = 25
DEFAULT_TOKEN_LIFETIME = 3600


@dataclass(frozen=True)
class EmulatorOptions:
    """How to run an emulator: address, storage, accepted credentials, faults and clock speed.

    ``data`` None keeps everything in an in-memory SQLite database; a path persists it.
    ``tokens`` empty and ``clients`` empty accept any non-empty bearer token ("open mode").
    ``speed`` is the number of simulated seconds per real second for the job lifecycle; 0 freezes
    the simulated clock, so only ``Emulator.advance()`` moves it.
    ``itwins`` empty means every well-formed GUID is an iTwin; otherwise only those listed.
    """

    host: str = "127.0.0.1"
    port: int = 0
    data: str | Path | None = None
    tokens: tuple[str, ...] = ()
    clients: Mapping[str, str] = field(default_factory=dict)
    latency_ms: float = 0
    jitter_ms: float = 0
    post_latency_ms: float = 0  # extra, for POSTs only: creates still on the wire
    post_jitter_ms: float = 0
    rate_limit: int | None = None
    rate_limit_burst: int | None = None  # requests the bucket holds; None: rate_limit (a minute's)
    fail_rate: float = 0.0
    drop_rate: float = 0.0
    speed: float = 1.0
    seed: int | None = None
    tls_cert: str | Path | None = None
    tls_key: str | Path | None = None
    max_engines: int = DEFAULT_MAX_ENGINES
    token_lifetime: int = DEFAULT_TOKEN_LIFETIME
    itwins: tuple[str, ...] = ()
    location: Location = Location.EAST_US

    def problems(self) -> list[str]:
        """Every inconsistency of these options, as messages (empty when usable)."""
        found: list[str] = []
        if not 0 <= self.port <= 65535:
            found.append(f"port {self.port} is not between 0 and 65535")
        for name in ("fail_rate", "drop_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                found.append(f"{name} {value} is not between 0 and 1")
        if self.latency_ms < 0 or self.jitter_ms < 0:
            found.append("latency_ms and jitter_ms must not be negative")
        if self.post_latency_ms < 0 or self.post_jitter_ms < 0:
            found.append("post_latency_ms and post_jitter_ms must not be negative")
        if self.rate_limit is not None and self.rate_limit < 1:
            found.append(f"rate_limit {self.rate_limit} must be at least 1 request per minute")
        if self.rate_limit_burst is not None and self.rate_limit_burst < 1:
            found.append(f"rate_limit_burst {self.rate_limit_burst} must be at least 1 request")
        if self.speed < 0:
            found.append(f"speed {self.speed} must not be negative (0 freezes the clock)")
        if (self.tls_cert is None) != (self.tls_key is None):
            found.append("tls_cert and tls_key must be given together")
        if self.max_engines < 0:
            found.append(f"max_engines {self.max_engines} must not be negative")
        if self.token_lifetime < 1:
            found.append(f"token_lifetime {self.token_lifetime} must be at least 1 second")
        if any(not t for t in self.tokens):
            found.append("tokens must not be empty strings")
        return found
