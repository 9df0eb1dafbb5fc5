"""Shared fixtures: an emulator over real HTTP on 127.0.0.1:0, a fresh iTwin, a token, TLS."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from rmapply.emulator import Emulator, EmulatorOptions

TEST_TOKEN = "test-token"
FAST = 1000.0  # simulated seconds per real second: a job finishes in well under a second


@pytest.fixture
def emulator_factory() -> Iterator[Callable[..., Emulator]]:
    """Make started emulators from EmulatorOptions (or keyword options); all stop at teardown."""
    started: list[Emulator] = []

    def make(options: EmulatorOptions | None = None, **kwargs: object) -> Emulator:
        opts = options or EmulatorOptions(**kwargs)  # type: ignore[arg-type]
        emu = Emulator(opts).start()
        started.append(emu)
        return emu

    yield make
    for emu in reversed(started):
        emu.stop()


@pytest.fixture
def emulator(emulator_factory: Callable[..., Emulator]) -> Emulator:
    """A started in-memory emulator at speed 1000 that accepts any bearer token."""
    return emulator_factory(EmulatorOptions(speed=FAST))


@pytest.fixture
def itwin_id() -> str:
    """A fresh iTwin id (any well-formed GUID is an iTwin for the default emulator)."""
    return str(uuid.uuid4())


@pytest.fixture
def token() -> str:
    """A bearer token the ``emulator`` fixture accepts."""
    return TEST_TOKEN


@pytest.fixture(scope="session")
def tls_certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key (PEM files), made with openssl."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl command is not installed")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
        timeout=60,
    )  # fmt: skip
    return cert, key
