"""The urllib3 transport: one thread-safe keep-alive pool, its exceptions sorted into the seam's."""

from __future__ import annotations

import os
import socket
import urllib.request
from collections.abc import Mapping
from urllib.parse import urlsplit

import urllib3
import urllib3.exceptions as u3

from rmapply.client.transport import (
    HttpAnswer,
    MaybeSent,
    NeverSent,
    TimedOutAfterSending,
    Timeout,
    TransportFailure,
)


class Urllib3Transport:
    """Sends requests over a urllib3 pool shared by every thread.

    urllib3's pools are thread-safe and keep ``pool_size`` keep-alive connections per host, so
    one transport serves all of apply's workers. urllib3 never retries or redirects on its own:
    whether sending again is safe is decided by the client's retry rules.
    """

    def __init__(
        self,
        *,
        pool_size: int = 16,
        verify: bool | str | None = None,
        proxy: str | None = None,
    ) -> None:
        options: dict[str, object] = {
            "num_pools": 4,
            "maxsize": max(1, pool_size),
            "block": False,
            "retries": False,
            **_tls_options(verify),
        }
        self._manager: urllib3.PoolManager = (
            urllib3.ProxyManager(proxy, **options)  # type: ignore[arg-type]
            if proxy
            else urllib3.PoolManager(**options)  # type: ignore[arg-type]
        )
        # One urllib3.Timeout per distinct Timeout: a client sends thousands with the same one.
        self._timeouts: dict[Timeout, urllib3.Timeout] = {}
        self._closed = False

    @classmethod
    def for_endpoint(
        cls, url: str, *, pool_size: int = 16, verify: bool | str | None = None
    ) -> Urllib3Transport:
        """A transport for ``url`` through the proxy the environment names for it, if any."""
        return cls(pool_size=pool_size, verify=verify, proxy=environ_proxy(url))

    def send(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        body: bytes | None,
        timeout: Timeout,
    ) -> HttpAnswer:
        """Send once and read the whole answer; a failure is raised as a TransportFailure."""
        if self._closed:
            raise RuntimeError("the client is closed")
        limits = self._timeouts.get(timeout)
        if limits is None:
            limits = urllib3.Timeout(connect=timeout.connect, read=timeout.read)
            self._timeouts[timeout] = limits
        try:
            response = self._manager.urlopen(
                method,
                url,
                body=body,
                headers=dict(headers),
                redirect=False,
                retries=False,
                preload_content=True,
                timeout=limits,
            )
        except u3.HTTPError as exc:
            raise sort_failure(exc) from exc
        return HttpAnswer(response.status, response.reason or "", response.headers, response.data)

    def close(self) -> None:
        """Close every pooled connection; later sends fail."""
        self._closed = True
        self._manager.clear()


def sort_failure(exc: u3.HTTPError) -> TransportFailure:
    """Was the request certainly not sent, or maybe sent?

    urllib3 runs with retries off, so its own exception arrives as is. A failure while opening
    the connection (refused, DNS, connect timeout, TLS verification) means nothing was sent.
    Anything after the connection was open (reset, closed without an answer, read timeout, a
    pooled keep-alive connection the server had just closed) may have reached the server, and
    is ambiguous for a POST.
    """
    if isinstance(exc, u3.SSLError) and _is_handshake_failure(exc):
        trust = "CERTIFICATE_VERIFY_FAILED" in str(exc)
        return NeverSent("certificate not trusted" if trust else "handshake error", stage="tls")
    if isinstance(exc, u3.NewConnectionError | u3.ConnectTimeoutError | u3.ProxyError):
        return NeverSent(_connect_reason(exc))
    if isinstance(exc, u3.ReadTimeoutError):
        return TimedOutAfterSending()
    if isinstance(exc, u3.ProtocolError) and _is_closed(exc):
        return MaybeSent("the connection was closed before an answer came back")
    if isinstance(exc, u3.ProtocolError | u3.DecodeError):
        return MaybeSent("the answer was cut off")
    return MaybeSent(f"the request failed ({type(exc).__name__})")


def _connect_reason(exc: BaseException) -> str:
    if isinstance(exc, u3.ProxyError):
        return "the proxy could not be reached"
    if isinstance(exc, u3.NameResolutionError):
        return "host name not resolved"
    if isinstance(exc, u3.NewConnectionError):
        cause = exc.__cause__ or exc.__context__
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cause, socket.gaierror):
            return "host name not resolved"
        if isinstance(cause, TimeoutError):
            return "connect timeout"
        return "connection failed"
    return "connect timeout"


_HANDSHAKE_MARKERS = (
    "CERTIFICATE_VERIFY_FAILED",
    "WRONG_VERSION_NUMBER",
    "UNSUPPORTED_PROTOCOL",
    "hostname",
    "handshake",
)


def _is_handshake_failure(exc: u3.SSLError) -> bool:
    # Errors of the handshake happen before any byte of the request is sent.
    text = str(exc)
    return any(marker.lower() in text.lower() for marker in _HANDSHAKE_MARKERS)


def _is_closed(exc: u3.ProtocolError) -> bool:
    cause = exc.args[1] if len(exc.args) > 1 else None
    return isinstance(cause, ConnectionError | OSError) or "closed" in str(exc).lower()


def _tls_options(verify: bool | str | None) -> dict[str, object]:
    """urllib3 TLS options from requests-style ``verify``.

    None: the bundle named by REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE, else the system's store.
    """
    if verify is False:
        return {"cert_reqs": "CERT_NONE", "assert_hostname": False}
    bundle = verify if isinstance(verify, str) else None
    bundle = bundle or os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if not bundle:
        return {"cert_reqs": "CERT_REQUIRED"}
    key = "ca_cert_dir" if os.path.isdir(bundle) else "ca_certs"
    return {"cert_reqs": "CERT_REQUIRED", key: bundle}


def environ_proxy(url: str) -> str | None:
    """The proxy the environment names for ``url`` (HTTPS_PROXY etc.), honouring NO_PROXY."""
    proxies = urllib.request.getproxies_environment()
    parts = urlsplit(url)
    proxy = proxies.get(parts.scheme) or proxies.get("all")
    if not proxy or urllib.request.proxy_bypass(parts.hostname or ""):
        return None
    return proxy
