"""One API call end to end: pacing, token, send, 401 renewal, error translation, retries."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import NamedTuple

from rmapply.client.auth import Auth
from rmapply.client.events import EventSink, TokenRefreshed
from rmapply.client.failures import classify
from rmapply.client.responses import TOKEN_REFUSED_HINT, error_from_response
from rmapply.client.retrying import CallRetries, RetryPolicy, run_with_retries
from rmapply.client.secrets import redact
from rmapply.client.service_clock import ServiceClock
from rmapply.client.throttle import Throttle
from rmapply.client.transport import (
    USER_AGENT,
    HttpAnswer,
    HttpTransport,
    Timeout,
    TransportFailure,
    endpoint_host,
)
from rmapply.errors import AuthenticationError
from rmapply.wire import API_MEDIA_TYPE

RENEWED_TOKEN_REFUSED_HINT = (
    "a freshly fetched token was refused too: check that the service application has the "
    "'itwin-platform' scope and is a member of the iTwin"
)


# a named tuple: built at import for a third of a dataclass's cost
class Call(NamedTuple):
    """What to send: ``path`` is relative to the base URL and is what messages show."""

    method: str
    path: str
    query: str = ""
    body: bytes | None = None
    idempotent: bool = True
    gone_is_done: bool = False  # DELETE: a 404 after an ambiguous failure means it was deleted


class Caller:
    """Sends calls to one base URL on behalf of every thread of a client."""

    def __init__(
        self,
        base_url: str,
        auth: Auth,
        *,
        retry: RetryPolicy,
        on_event: EventSink,
        transport: HttpTransport,
        timeout: Timeout,
        user_agent: str = USER_AGENT,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.host = endpoint_host(base_url)  # named in messages: never the userinfo
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.user_agent = user_agent
        self.auth = auth
        self.retry = retry
        self.on_event = on_event
        self.transport = transport
        self.throttle = Throttle(sleep=sleep)
        self.service_clock = ServiceClock()
        self._sleep = sleep

    def call(self, call: Call) -> HttpAnswer:
        """The 2xx answer to ``call``, after the retries its rules allow; else an ApiError."""
        retries = CallRetries(
            self.retry,
            method=call.method,
            path=call.path,
            idempotent=call.idempotent,
            throttle=self.throttle,
            on_event=self.on_event,
        )
        return run_with_retries(lambda r: self._attempt(call, r), retries, sleep=self._sleep)

    def _attempt(self, call: Call, retries: CallRetries) -> HttpAnswer:
        header = self.auth.authorization()
        retries.epoch = self.throttle.acquire()
        response = self._transmit(call, header)
        self.service_clock.observe(response.headers.get("Date"))
        renewed = False
        if response.status == 401 and self.auth.renew(header):
            # A 401 was not processed, so sending once more with a new token is safe for POST too.
            renewed = True
            self.on_event(TokenRefreshed(call.method, call.path))
            self.throttle.answered()
            retries.epoch = self.throttle.acquire()
            response = self._transmit(call, self.auth.authorization())
        if response.status != 429:
            self.throttle.answered()
        status = response.status
        if 200 <= status < 300:
            return response
        if status == 404 and call.gone_is_done and retries.ambiguous_failures:
            return response
        error = error_from_response(response, call.method, call.path, scrub=self.scrub)
        if renewed and isinstance(error, AuthenticationError) and error.hint == TOKEN_REFUSED_HINT:
            error.hint = RENEWED_TOKEN_REFUSED_HINT
        raise error

    def _transmit(self, call: Call, authorization: str) -> HttpAnswer:
        headers = {"User-Agent": self.user_agent, "Accept": API_MEDIA_TYPE}
        if authorization:
            # Credentials that have no token send no header (the service answers HeaderNotFound).
            headers["Authorization"] = authorization
        if call.body is not None:
            headers["Content-Type"] = "application/json"
        url = self.base_url + call.path + (f"?{call.query}" if call.query else "")
        try:
            return self.transport.send(
                call.method, url, headers=headers, body=call.body, timeout=self.timeout
            )
        except TransportFailure as exc:
            raise classify(exc, call.method, call.path, self.host) from exc

    def scrub(self, text: str) -> str:
        """``text`` without any secret of the credentials."""
        return redact(text, self.auth.secret_values())
