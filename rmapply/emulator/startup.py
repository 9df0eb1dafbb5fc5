"""Starting an emulator: database, TLS and socket, each failure a ConfigError a user can act on."""

from __future__ import annotations

import errno
import socket
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

from rmapply.emulator.storage import ForeignDatabaseError, Store
from rmapply.errors import ConfigError

if TYPE_CHECKING:
    import ssl

    # imported where used: an emulator that only reserves its port (--local) never loads
    # http.server or ssl
    from rmapply.emulator.routes import Application
    from rmapply.emulator.server import EmulatorHTTPServer

CERTIFICATE_HINT = (
    "give a PEM certificate and its PEM private key, e.g. made with: openssl req -x509 "
    "-newkey rsa:2048 -nodes -days 30 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 "
    "-keyout key.pem -out cert.pem"
)
ADDRESS_HINT = (
    "use an address of this machine: 127.0.0.1 (the default, this machine only) or 0.0.0.0 "
    "(every interface)"
)


def open_store(data: str | Path | None) -> Store:
    """The emulator's database (in memory for None), or ConfigError saying what is wrong."""
    try:
        return Store(data)
    except ForeignDatabaseError as exc:
        raise ConfigError(
            f"{data} is not an rmapply emulator database: {exc}; it was left untouched",
            hint="use another file, or move this one away: a new one is then created",
        ) from exc
    except (sqlite3.Error, OSError) as exc:
        raise ConfigError(
            f"cannot open the emulator database {data}: {exc}",
            hint="check that its folder exists and is writable and that the file is a "
            "database of the emulator; or move it away: a new one is then created",
        ) from exc


def load_tls(cert: str | Path, key: str | Path) -> ssl.SSLContext:
    """The server's TLS context, or ConfigError naming the files and the problem."""
    import ssl

    from rmapply.emulator.server import tls_context

    try:
        return tls_context(cert, key)
    except ssl.SSLError as exc:
        reason = {"KEY_VALUES_MISMATCH": "the key does not belong to the certificate"}.get(
            str(exc.reason), "they are not a PEM certificate and its private key"
        )
        raise ConfigError(
            f"cannot serve HTTPS with --tls-cert {cert} and --tls-key {key}: {reason}",
            hint=CERTIFICATE_HINT,
        ) from exc
    except OSError as exc:
        raise ConfigError(
            f"cannot read the TLS certificate or key ({cert}, {key}): {exc.strerror or exc}",
            hint=CERTIFICATE_HINT,
        ) from exc


def bind(
    host: str,
    port: int,
    app: Application,
    tls: ssl.SSLContext | None,
    reserved: socket.socket | None = None,
) -> EmulatorHTTPServer:
    """A server listening on ``host:port`` (on the ``reserved`` socket, when given), or
    ConfigError saying why it cannot listen."""
    from rmapply.emulator.server import EmulatorHTTPServer

    try:
        return EmulatorHTTPServer((host, port), app, tls, reserved=reserved)
    except OSError as exc:
        raise _cannot_listen(host, port, exc) from exc


def reserve(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` but not listening (a connection is refused), for a
    server that may listen on it later; ConfigError as ``bind`` says it."""
    try:
        # An ASCII name as bytes: a str is encoded with the idna codec, a 2 ms import.
        name = host.encode("ascii") if host.isascii() else host
        address = socket.getaddrinfo(name, port, socket.AF_INET, socket.SOCK_STREAM)[0][4]
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    except OSError as exc:
        raise _cannot_listen(host, port, exc) from exc
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server binds
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise _cannot_listen(host, port, exc) from exc
    return sock


def _cannot_listen(host: str, port: int, exc: OSError) -> ConfigError:
    if isinstance(exc, socket.gaierror):
        return ConfigError(
            f"cannot listen on {host}: the host name does not resolve ({exc.strerror})",
            hint=ADDRESS_HINT,
        )
    if exc.errno == errno.EADDRINUSE:
        message, hint = (
            "the port is in use",
            ("stop the program using it, choose another --port, or --port 0 for a free one"),
        )
    elif exc.errno == errno.EACCES:
        message, hint = (
            "permission denied",
            ("ports below 1024 need privileges: choose a port above 1023, or --port 0"),
        )
    elif exc.errno == errno.EADDRNOTAVAIL:
        message, hint = "the address is not one of this machine's", ADDRESS_HINT
    else:
        message, hint = str(exc.strerror or exc), "check --host and --port"
    return ConfigError(f"cannot listen on {host}:{port}: {message}", hint=hint)
