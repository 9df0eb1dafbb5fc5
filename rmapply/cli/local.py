"""``--local``: the embedded emulator, started in process for one command, data kept on disk."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from rmapply.errors import ConfigError
from rmapply.gc_pause import gc_paused
from rmapply.project import LOCAL_DATA, LOCAL_DIR, Endpoint, Project

if TYPE_CHECKING:
    from rmapply.client.transport import HttpAnswer, Timeout
    from rmapply.emulator import Emulator

# A simulated minute per real second: a local job finishes in a few seconds, so `--wait` and
# `rmapply wait --local` are quick, while progress still moves visibly.
LOCAL_SPEED = 60.0
# A fixed token: the emulator derives the caller's identity (the jobs' email) from it; the
# embedded emulator serves in process only, on a loopback port it reserves for one command.
LOCAL_TOKEN = "rmapply-local"


def local_data_path(directory: Path) -> Path:
    """Where ``--local`` keeps the emulator's jobs, so separate invocations see the same ones."""
    return directory / LOCAL_DIR / LOCAL_DATA


@contextmanager
def open_endpoint(project: Project, endpoint: str | None, local: bool) -> Iterator[Endpoint]:
    """The endpoint for this command (the project's state is checked against it from now on);
    with ``local``, an emulator running for its duration and the ``--local`` state."""
    if not local:
        chosen = project.endpoint(endpoint)
        project.use_endpoint(chosen)
        yield chosen
        return
    if endpoint:
        raise ConfigError(
            "--local and --endpoint exclude each other",
            hint="drop --endpoint to use the embedded emulator",
        )
    data = local_data_path(project.directory)
    try:
        data.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create {data.parent}: {exc.strerror}") from exc
    # imports and start-up build only long-lived objects: no collection needs to walk them
    with gc_paused(promote=True):
        from rmapply.emulator import Emulator, EmulatorOptions  # only --local needs it

        options = EmulatorOptions(port=0, data=data, tokens=(LOCAL_TOKEN,), speed=LOCAL_SPEED)
        # the port is only reserved, so the URL shown and saved names it; nothing listens (the
        # requests go in process), so no HTTP server is imported, started or stopped
        started = Emulator(options).start(listen=False)
    with started as emulator:
        transport = InProcessTransport(emulator)
        chosen = Endpoint(
            emulator.base_url, "--local", local_token=LOCAL_TOKEN, transport=transport
        )
        project.use_endpoint(chosen)  # its own state under .rmapply/, bound to its data
        yield chosen


class _Headers(Mapping[str, str]):
    """Answer headers, looked up without regard to case (as HTTP names them)."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self._by_name = {name.lower(): (name, value) for name, value in pairs}

    def __getitem__(self, name: str) -> str:
        return self._by_name[name.lower()][1]

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._by_name.values())

    def __len__(self) -> int:
        return len(self._by_name)


class InProcessTransport:
    """The client's transport for ``--local``: each request goes straight to the embedded
    emulator's application in this process, which answers exactly as it does on its port.

    Loopback HTTP added nothing but cost here: urllib3's import, a server thread, and every
    body encoded and parsed twice more (a tenth of a no-op ``plan --local``).
    """

    def __init__(self, emulator: Emulator) -> None:
        self._emulator = emulator
        self._closed = threading.Event()

    def send(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        body: bytes | None,
        timeout: Timeout,
    ) -> HttpAnswer:
        """The emulator's answer to one request, or NeverSent/MaybeSent as over a socket."""
        from rmapply.client.transport import HttpAnswer, MaybeSent, NeverSent

        if self._closed.is_set():
            raise NeverSent("the embedded emulator has stopped")
        parts = urlsplit(url)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        authorization = next((v for k, v in headers.items() if k.lower() == "authorization"), None)
        answer = self._emulator.handle(method, target, authorization, body or b"")
        if answer.drop:  # the server closes the connection without answering
            raise MaybeSent("the connection was closed without an answer")
        pairs = [("Date", http_date(self._emulator.clock_seconds()))]
        pairs += list(answer.headers)
        if answer.body:
            pairs.append(("Content-Type", answer.content_type))
        pairs.append(("Content-Length", str(len(answer.body))))
        content = b"" if method == "HEAD" else answer.body
        return HttpAnswer(answer.status, _reason(answer.status), _Headers(pairs), content)

    def close(self) -> None:
        """Later sends fail, as they would once the emulator's port is closed."""
        self._closed.set()


# the phrases of the statuses a --local command meets (http.HTTPStatus costs 1 ms to import)
_REASONS = {200: "OK", 201: "Created", 204: "No Content"}


def _reason(status: int) -> str:
    if status in _REASONS:
        return _REASONS[status]
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def http_date(seconds: float) -> str:
    """``email.utils.formatdate(seconds, usegmt=True)`` without importing email (about 3 ms)."""
    t = time.gmtime(seconds)
    return (
        f"{_DAYS[t.tm_wday]}, {t.tm_mday:02d} {_MONTHS[t.tm_mon - 1]} {t.tm_year:04d} "
        f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} GMT"
    )
