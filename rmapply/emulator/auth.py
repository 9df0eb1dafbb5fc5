"""Who is calling: bearer tokens checked against the options, and an IMS-like token endpoint."""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
from typing import Any, NamedTuple
from urllib.parse import parse_qs, unquote

from rmapply.emulator import problems
from rmapply.emulator.backend import Caller
from rmapply.emulator.lifecycle import SimClock
from rmapply.emulator.options import EmulatorOptions
from rmapply.emulator.storage import Store, TokenRow

SERVICE_APP_DOMAIN = "apps.imsoidc.bentley.com"
STATIC_TOKEN_APPLICATION = "static-token"
KNOWN_SCOPES = frozenset(
    {
        "itwin-platform",
        "contextcapture:read",
        "contextcapture:modify",
        "realitydata:read",
        "realitydata:modify",
        "offline_access",
    }
)


def digest(token: str) -> str:
    """The stored form of a token (tokens are never stored or logged in clear)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def static_email(token: str) -> str:
    """The identity of a token the emulator did not issue: stable for the same token."""
    return f"user-{digest(token)[:12]}@emulator.example.com"


class TokenAnswer(NamedTuple):
    """The status and JSON body of a token-endpoint answer."""

    status: int
    body: dict[str, Any]


class Authenticator:
    """Accepts or refuses bearer tokens and issues new ones for registered clients."""

    def __init__(self, store: Store, clock: SimClock, options: EmulatorOptions) -> None:
        self._store = store
        self._clock = clock
        self._static = frozenset(options.tokens)
        self._clients = dict(options.clients)
        self._open = not options.tokens and not options.clients
        self._lifetime_ms = options.token_lifetime * 1000
        self._lifetime = options.token_lifetime
        self._lock = threading.Lock()
        self._issued = {row.digest: row for row in store.tokens()}

    def caller(self, authorization: str | None) -> Caller:
        """The caller named by an Authorization header, or the API's 401 answer."""
        if authorization is None:
            raise problems.header_not_found()
        scheme, _, token = authorization.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise problems.unauthorized()
        issued = self._issued.get(digest(token))
        if issued is not None:
            if issued.expires_ms <= self._clock.platform_now_ms():
                raise problems.unauthorized("expired")
            return Caller(f"{issued.client_id}@{SERVICE_APP_DOMAIN}", issued.client_id)
        if token in self._static or self._open:
            return Caller(static_email(token), STATIC_TOKEN_APPLICATION)
        raise problems.unauthorized()

    def expire_all(self) -> None:
        """Every token issued so far expires now (static tokens stay valid)."""
        now = self._clock.platform_now_ms()
        with self._lock:
            self._store.expire_tokens(now)
            self._issued = {row.digest: row for row in self._store.tokens()}

    def issue_for(self, client_id: str) -> str:
        """Issue a token for a client directly (the in-process shortcut of the endpoint)."""
        token = "emu-" + secrets.token_urlsafe(32)
        row = TokenRow(digest(token), client_id, self._clock.platform_now_ms() + self._lifetime_ms)
        with self._lock:
            self._store.insert_token(row)
            self._issued[row.digest] = row
        return token

    def token_endpoint(self, raw: bytes, authorization: str | None) -> TokenAnswer:
        """POST /connect/token: the client-credentials grant, answered as OAuth 2.0 does."""
        try:
            form = {
                k: v[-1] for k, v in parse_qs(raw.decode("utf-8"), keep_blank_values=True).items()
            }
        except UnicodeDecodeError:
            return _oauth_error(400, "invalid_request", "The body is not form-urlencoded UTF-8.")
        client_id, secret = form.get("client_id"), form.get("client_secret")
        basic = _basic_credentials(authorization)
        if basic is not None:
            client_id, secret = basic
        grant = form.get("grant_type")
        if not grant:
            return _oauth_error(400, "invalid_request", "grant_type is required.")
        if grant != "client_credentials":
            return _oauth_error(
                400, "unsupported_grant_type", f"grant_type '{grant}' is not supported."
            )
        # In open mode (no tokens, no clients configured) any client id is welcome.
        known = self._open or (client_id in self._clients and self._clients[client_id] == secret)
        if not client_id or not known:
            return _oauth_error(401, "invalid_client", "Client authentication failed.")
        scopes = form.get("scope", "").split()
        if not scopes or any(s not in KNOWN_SCOPES for s in scopes):
            return _oauth_error(400, "invalid_scope", "The requested scope is invalid or unknown.")
        token = self.issue_for(client_id)
        return TokenAnswer(
            200,
            {
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": self._lifetime,
                "scope": " ".join(scopes),
            },
        )


def _basic_credentials(authorization: str | None) -> tuple[str, str] | None:
    if not authorization or not authorization.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode("utf-8")
    except ValueError:  # not base64 (binascii.Error), not ASCII, not UTF-8
        return None
    user, sep, password = decoded.partition(":")
    return (unquote(user), unquote(password)) if sep else None


def _oauth_error(status: int, error: str, description: str) -> TokenAnswer:
    return TokenAnswer(status, {"error": error, "error_description": description})
