"""HTTP transport: one thread-safe keep-alive pool per endpoint, timeouts always on."""

from __future__ import annotations

import os
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import urllib3

from rmapply import __version__
from rmapply.errors import ConfigError

DEFAULT_TIMEOUT: tuple[float, float] = (10.0, 60.0)
USER_AGENT = f"rmapply/{__version__}"


@dataclass(frozen=True)
class Timeout:
    """Connect and read timeouts in seconds; every request carries both."""

    connect: float = DEFAULT_TIMEOUT[0]
    read: float = DEFAULT_TIMEOUT[1]

    @classmethod
    def of(cls, value: Timeout | tuple[float, float] | float) -> Timeout:
        """A Timeout from a pair ``(connect_s, read_s)``, one number for both, or a Timeout."""
        if isinstance(value, Timeout):
            return value
        if isinstance(value, int | float):
            return cls(float(value), float(value))
        connect, read = value
        return cls(float(connect), float(read))


@dataclass(frozen=True)
class HttpAnswer:
    """What came back: status, reason phrase, headers (case-insensitive) and the whole body."""

    status: int
    reason: str
    headers: Mapping[str, str]
    body: bytes


class Transport:
    """Sends requests to one endpoint over a urllib3 pool shared by every thread.

    urllib3's pools are thread-safe and keep ``pool_size`` keep-alive connections per host, so
    one Transport serves all of apply's workers. urllib3 never retries or redirects on its own:
    whether sending again is safe is decided by the client's retry rules.
    """

    def __init__(
        self,
        base_url: str,
        *,
        timeout: Timeout,
        pool_size: int = 16,
        verify: bool | str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(
                f"endpoint {base_url!r} is not an http(s) URL",
                hint="use a URL such as https://api.bentley.com/contextcapture",
            )
        self.base_url = base_url.rstrip("/")
        self.host = parts.netloc.rpartition("@")[2]  # named in messages: never the userinfo
        self.headers = {"User-Agent": USER_AGENT, **dict(headers or {})}
        options: dict[str, object] = {
            "num_pools": 4,
            "maxsize": max(1, pool_size),
            "block": False,
            "retries": False,
            "timeout": urllib3.Timeout(connect=timeout.connect, read=timeout.read),
            **_tls_options(verify),
        }
        proxy = _environ_proxy(base_url)
        self._manager: urllib3.PoolManager = (
            urllib3.ProxyManager(proxy, **options)  # type: ignore[arg-type]
            if proxy
            else urllib3.PoolManager(**options)  # type: ignore[arg-type]
        )
        self._closed = False

    def send(
        self,
        method: str,
        url: str,
        *,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> HttpAnswer:
        """Send once and read the whole answer; urllib3's exceptions pass through."""
        if self._closed:
            raise RuntimeError("the client is closed")
        response = self._manager.urlopen(
            method,
            url,
            body=body,
            headers={**self.headers, **dict(headers or {})},
            redirect=False,
            retries=False,
            preload_content=True,
        )
        return HttpAnswer(response.status, response.reason or "", response.headers, response.data)

    def close(self) -> None:
        """Close every pooled connection; later sends fail."""
        self._closed = True
        self._manager.clear()


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


def _environ_proxy(url: str) -> str | None:
    """The proxy the environment names for ``url`` (HTTPS_PROXY etc.), honouring NO_PROXY."""
    proxies = urllib.request.getproxies_environment()
    parts = urlsplit(url)
    proxy = proxies.get(parts.scheme) or proxies.get("all")
    if not proxy or urllib.request.proxy_bypass(parts.hostname or ""):
        return None
    return proxy
