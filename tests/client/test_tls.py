"""TLS: an untrusted certificate is NotSentError at once; a trusted bundle (verify=) works."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from rmapply.client import ClientEvent, RetryScheduled
from rmapply.emulator import Emulator, EmulatorOptions
from rmapply.errors import NotSentError
from tests.client.conftest import MakeClient


@pytest.fixture
def tls_emulator(
    emulator_factory: Callable[..., Emulator], tls_certificate: tuple[Path, Path]
) -> Emulator:
    cert, key = tls_certificate
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
    tls_emulator: Emulator, make_client: MakeClient, tls_certificate: tuple[Path, Path]
) -> None:
    client = make_client(tls_emulator, verify=str(tls_certificate[0]))
    assert tls_emulator.base_url.startswith("https://")
    assert client.engines_limit().max_engines == 25
