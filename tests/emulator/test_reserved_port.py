"""An emulator that only reserves its port (``--local``): URLs name the port, nothing listens
until ``listen()``, and the in-process application answers meanwhile."""

from __future__ import annotations

import pytest
import requests

from rmapply.emulator import Emulator, EmulatorOptions
from rmapply.errors import ConfigError
from tests.emulator.conftest import Api


def test_an_emulator_that_does_not_listen_refuses_connections_but_answers_in_process(
    token: str,
) -> None:
    emu = Emulator(EmulatorOptions(tokens=(token,))).start(listen=False)
    try:
        assert emu.base_url == f"http://127.0.0.1:{emu.port}/contextcapture"
        api = Api(emu, token)
        with pytest.raises(requests.ConnectionError):
            api.get("/limits/engines")
        api.close()
        answer = emu.handle("GET", "/contextcapture/limits/engines", f"Bearer {token}", b"")
        assert answer.status == 200
    finally:
        emu.stop()


def test_listen_serves_on_the_reserved_port_at_the_same_url(token: str) -> None:
    emu = Emulator(EmulatorOptions(tokens=(token,))).start(listen=False)
    try:
        before = emu.base_url
        emu.listen()
        emu.listen()  # a second call changes nothing
        assert emu.base_url == before
        api = Api(emu, token)
        assert api.get("/limits/engines").status_code == 200
        api.close()
    finally:
        emu.stop()
    with pytest.raises(RuntimeError):
        emu.handle("GET", "/contextcapture/limits/engines", f"Bearer {token}", b"")


def test_reserving_a_port_in_use_raises_the_same_config_error(emulator: Emulator) -> None:
    with pytest.raises(ConfigError) as caught:
        Emulator(EmulatorOptions(port=emulator.port)).start(listen=False)
    assert caught.value.message == f"cannot listen on 127.0.0.1:{emulator.port}: the port is in use"
