"""Credentials: a static bearer token, or OAuth2 client credentials against Bentley IMS."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Mapping
from typing import Protocol
from urllib.parse import urlencode

from rmapply.client.events import ignore_event
from rmapply.client.failures import SendFailedError, classify
from rmapply.client.responses import error_from_response
from rmapply.client.retrying import CallRetries, RetryPolicy, run_with_retries
from rmapply.client.secrets import Secret, redact
from rmapply.client.throttle import Throttle
from rmapply.client.transport import (
    USER_AGENT,
    HttpAnswer,
    HttpTransport,
    Timeout,
    TransportFailure,
    endpoint_host,
)
from rmapply.errors import ApiError, AuthenticationError, ConfigError, redact_urls

IMS_TOKEN_URL = "https://ims.bentley.com/connect/token"
DEFAULT_SCOPE = "itwin-platform"
REFRESH_MARGIN = 300.0  # seconds before expiry a cached token is replaced (as Bentley's SDKs do)
DEFAULT_LIFETIME = 3600.0  # IMS access tokens live one hour when expires_in is missing

ENV_TOKEN = "RMAPPLY_TOKEN"
ENV_CLIENT_ID = "RMAPPLY_CLIENT_ID"
ENV_CLIENT_SECRET = "RMAPPLY_CLIENT_SECRET"
ENV_TOKEN_URL = "RMAPPLY_TOKEN_URL"

CREDENTIALS_HINT = (
    f"check {ENV_CLIENT_ID} and {ENV_CLIENT_SECRET} (a service application with the "
    f"'{DEFAULT_SCOPE}' scope) and {ENV_TOKEN_URL}"
)


class Auth(Protocol):
    """What the client needs from credentials."""

    def authorization(self) -> str:
        """The value of the Authorization header (``Bearer ...``)."""
        ...

    def renew(self, rejected: str) -> bool:
        """After a 401 for ``rejected``: True when a different token is now available."""
        ...

    def secret_values(self) -> tuple[str, ...]:
        """Every secret this object holds, so error texts can be scrubbed of them."""
        ...


class StaticToken:
    """A bearer token given by the user; it cannot be renewed."""

    def __init__(self, token: str | Secret) -> None:
        value = token.reveal() if isinstance(token, Secret) else token
        value = value.strip()
        if value[:7].lower() == "bearer ":
            value = value[7:].strip()
        if not value:
            raise ConfigError(f"{ENV_TOKEN} is empty", hint=f"set {ENV_TOKEN} to an access token")
        if not all(33 <= ord(ch) <= 126 for ch in value):
            # A header cannot carry them, and the message must not quote the token to say so.
            raise ConfigError(
                f"{ENV_TOKEN} contains spaces or characters outside visible ASCII",
                hint="copy the access token alone, without quotes or line breaks",
            )
        self._token = Secret(value)
        self._header = Secret(f"Bearer {value}")

    def authorization(self) -> str:
        """``Bearer <token>``."""
        return self._header.reveal()

    def renew(self, rejected: str) -> bool:
        """A static token has no successor."""
        return False

    def secret_values(self) -> tuple[str, ...]:
        """The token."""
        return (self._token.reveal(),)

    def __repr__(self) -> str:
        return "StaticToken(token=***)"


class ClientCredentials:
    """OAuth2 client-credentials grant; the token is cached until shortly before it expires."""

    def __init__(
        self,
        client_id: str,
        client_secret: str | Secret,
        *,
        token_url: str = IMS_TOKEN_URL,
        scope: str = DEFAULT_SCOPE,
        timeout: Timeout | tuple[float, float] | float = (10.0, 30.0),
        retry: RetryPolicy | None = None,
        verify: bool | str | None = None,
        transport: HttpTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not client_id.strip():
            raise ConfigError(f"{ENV_CLIENT_ID} is empty", hint=CREDENTIALS_HINT)
        self.client_id = client_id.strip()
        self._secret = Secret(client_secret)
        if not self._secret:
            raise ConfigError(f"{ENV_CLIENT_SECRET} is empty", hint=CREDENTIALS_HINT)
        self.token_url = token_url
        self.scope = scope
        self._retry = retry or RetryPolicy()
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._host = endpoint_host(token_url)
        self._timeout = Timeout.of(timeout)
        if transport is None:
            from rmapply.client.urllib3_transport import Urllib3Transport

            transport = Urllib3Transport.for_endpoint(token_url, pool_size=2, verify=verify)
        self._transport: HttpTransport = transport
        # (header, refresh_at); replaced as a whole so readers need no lock.
        self._cached: tuple[Secret, float] | None = None

    def authorization(self) -> str:
        """``Bearer <token>``, fetching a new token when none is cached or it is about to expire."""
        cached = self._cached
        if cached is not None and self._clock() < cached[1]:
            return cached[0].reveal()
        with self._lock:
            cached = self._cached
            if cached is None or self._clock() >= cached[1]:
                cached = self._fetch()
                self._cached = cached
            return cached[0].reveal()

    def renew(self, rejected: str) -> bool:
        """Drop the rejected token and fetch another (once, however many threads were refused)."""
        with self._lock:
            cached = self._cached
            if cached is not None and cached[0].reveal() != rejected:
                return True  # another thread already replaced it
            self._cached = self._fetch()
            return True

    def secret_values(self) -> tuple[str, ...]:
        """The client secret and the current token."""
        cached = self._cached
        values = [self._secret.reveal()]
        if cached is not None:
            header = cached[0].reveal()
            values += [header, header.removeprefix("Bearer ")]
        return tuple(values)

    def close(self) -> None:
        """Close the connections to the token endpoint."""
        self._transport.close()

    def __repr__(self) -> str:
        return (
            f"ClientCredentials(client_id={self.client_id!r}, client_secret=***, "
            f"token_url={redact_urls(self.token_url)!r}, scope={self.scope!r})"
        )

    def _fetch(self) -> tuple[Secret, float]:
        """A new token from the token endpoint; asking again is harmless, so failures retry."""
        retries = CallRetries(
            self._retry,
            method="POST",
            path=self.token_url,
            idempotent=True,
            throttle=Throttle(sleep=self._sleep),
            on_event=ignore_event,
        )
        started = self._clock()
        try:
            response = run_with_retries(self._post, retries, sleep=self._sleep)
        except AuthenticationError:
            raise
        except ApiError as exc:
            # Nothing reached the API yet: the caller's own request is still unsent.
            raise SendFailedError(
                f"could not get a token: {exc.message}",
                retryable=False,
                method="POST",
                path=self.token_url,
                status=exc.status,
                code=exc.code,
                hint=f"nothing was sent to the API; {CREDENTIALS_HINT}",
            ) from exc
        return self._read_token(response, started)

    def _post(self, retries: CallRetries) -> HttpAnswer:
        form = {
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": self._secret.reveal(),
            "scope": self.scope,
        }
        headers = {
            "User-Agent": USER_AGENT,
            "Accept": "application/json",
            "Content-Type": "application/x-www-form-urlencoded",
        }
        retries.epoch = retries.throttle.acquire()  # after a 429, wait out its pause
        try:
            response = self._transport.send(
                "POST",
                self.token_url,
                headers=headers,
                body=urlencode(form).encode(),
                timeout=self._timeout,
            )
        except TransportFailure as exc:
            raise classify(exc, "POST", self.token_url, self._host) from exc
        if response.status != 200:
            error = error_from_response(response, "POST", self.token_url, scrub=self._scrub)
            if 400 <= response.status < 500 and response.status != 429:
                raise AuthenticationError(
                    error.message,
                    method="POST",
                    path=self.token_url,
                    status=error.status,
                    code=error.code,
                    api_message=error.api_message,
                    hint=f"the token endpoint refused the credentials; {CREDENTIALS_HINT}",
                )
            raise error
        return response

    def _read_token(self, response: HttpAnswer, started: float) -> tuple[Secret, float]:
        try:
            body = json.loads(response.body)
            token = body["access_token"]
            lifetime = float(body.get("expires_in", DEFAULT_LIFETIME))
            if not isinstance(token, str) or not token:
                raise ValueError("empty access_token")
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise SendFailedError(
                f"POST {self.token_url}: the token endpoint's answer has no usable access_token",
                retryable=False,
                method="POST",
                path=self.token_url,
                status=response.status,
                hint=f"check {ENV_TOKEN_URL}: it must name an OAuth2 token endpoint",
            ) from exc
        # Short-lived tokens get a proportionally shorter margin, so they are used at all.
        margin = min(REFRESH_MARGIN, lifetime / 2)
        return Secret(f"Bearer {token}"), started + lifetime - margin

    def _scrub(self, text: str) -> str:
        return redact(text, self.secret_values())


def auth_from_env(
    environ: Mapping[str, str] | None = None,
    *,
    timeout: Timeout | tuple[float, float] | float = (10.0, 30.0),
    retry: RetryPolicy | None = None,
    verify: bool | str | None = None,
    transport: HttpTransport | None = None,
) -> Auth:
    """Credentials from RMAPPLY_TOKEN, or RMAPPLY_CLIENT_ID + RMAPPLY_CLIENT_SECRET.

    A token wins when both are set: it was exported deliberately for this shell. The keyword
    options apply to ClientCredentials (the token endpoint's timeout, retries, TLS trust and
    transport).
    """
    env = os.environ if environ is None else environ
    token = env.get(ENV_TOKEN, "").strip()
    client_id = env.get(ENV_CLIENT_ID, "").strip()
    secret = env.get(ENV_CLIENT_SECRET, "").strip()
    if token:
        return StaticToken(token)
    if client_id and secret:
        token_url = env.get(ENV_TOKEN_URL, "").strip() or IMS_TOKEN_URL
        return ClientCredentials(
            client_id,
            Secret(secret),
            token_url=token_url,
            timeout=timeout,
            retry=retry,
            verify=verify,
            transport=transport,
        )
    if client_id or secret:
        have, missing = (
            (ENV_CLIENT_ID, ENV_CLIENT_SECRET) if client_id else (ENV_CLIENT_SECRET, ENV_CLIENT_ID)
        )
        raise ConfigError(
            f"{have} is set but {missing} is not",
            hint=f"set both {ENV_CLIENT_ID} and {ENV_CLIENT_SECRET}, or set {ENV_TOKEN} instead",
        )
    raise ConfigError(
        "no credentials for the Reality Modeling API",
        hint=(
            f"set {ENV_TOKEN} to an access token, or {ENV_CLIENT_ID} and {ENV_CLIENT_SECRET} of a "
            f"service application with the '{DEFAULT_SCOPE}' scope"
        ),
    )


__all__ = [
    "DEFAULT_SCOPE",
    "IMS_TOKEN_URL",
    "Auth",
    "ClientCredentials",
    "StaticToken",
    "auth_from_env",
]
