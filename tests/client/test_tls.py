"""TLS: an untrusted certificate is NotSentError at once; a trusted bundle (verify=) works."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from rmapply.client import ClientEvent, RetryScheduled
from rmapply.emulator import Emulator, EmulatorOptions
from rmapply.errors import NotSentError
from tests.client.conftest import MakeClient


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.fixture
def tls_emulator(
    emulator_factory: Callable[..., Emulator], certificate: tuple[Path, Path]
) -> Emulator:
    cert, key = certificate
    return emulator_factory(EmulatorOptions(tls_cert=str(cert), tls_key=str(key)))


def test_untrusted_certificate_is_not_sent_and_not_retried(
    tls_emulator: Emulator, make_client: MakeClient, events: list[ClientEvent]
) -> None:
    client = make_client(tls_emulator)
    with pytest.raises(NotSentError) as caught:
        client.engines_limit()
    assert caught.value.message == (
        f"GET /limits/engines: TLS handshake with 127.0.0.1:{tls_emulator.port} failed "
        "(certificate not trusted)"
    )
    assert caught.value.hint is not None and "REQUESTS_CA_BUNDLE" in caught.value.hint
    assert not [e for e in events if isinstance(e, RetryScheduled)]
    assert tls_emulator.request_count() == 0


def test_certificate_trusted_through_verify_is_accepted(
    tls_emulator: Emulator, make_client: MakeClient, certificate: tuple[Path, Path]
) -> None:
    client = make_client(tls_emulator, verify=str(certificate[0]))
    assert tls_emulator.base_url.startswith("https://")
    assert client.engines_limit().max_engines == 25
