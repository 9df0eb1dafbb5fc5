"""Starting an emulator: database, TLS and socket, each failure a ConfigError a user can act on."""

from __future__ import annotations

import errno
import socket
import sqlite3
import ssl
from pathlib import Path

from rmapply.emulator.routes import Application
from rmapply.emulator.server import EmulatorHTTPServer, tls_context
from rmapply.emulator.storage import ForeignDatabaseError, Store
from rmapply.errors import ConfigError

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


def bind(host: str, port: int, app: Application, tls: ssl.SSLContext | None) -> EmulatorHTTPServer:
    """A server listening on ``host:port``, or ConfigError saying why it cannot listen."""
    where = f"{host}:{port}"
    try:
        return EmulatorHTTPServer((host, port), app, tls)
    except socket.gaierror as exc:
        raise ConfigError(
            f"cannot listen on {host}: the host name does not resolve ({exc.strerror})",
            hint=ADDRESS_HINT,
        ) from exc
    except OSError as exc:
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
        raise ConfigError(f"cannot listen on {where}: {message}", hint=hint) from exc
