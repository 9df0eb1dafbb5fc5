"""``rmapply serve`` as a subprocess: the base URL first, --token, TLS, clean stop on signals."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from rmapply.cli.main import cli

TIMEOUT = 10
RMAPPLY = [sys.executable, "-c", "from rmapply.cli import main; main()"]


@contextmanager
def serving(*args: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """Run ``rmapply serve --port 0 ARGS`` and yield the process and the first line it prints."""
    command = [*RMAPPLY, "serve", "--port", "0", *args]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        first = process.stdout.readline().strip()
        yield process, first
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def _get(url: str, token: str | None, **kwargs: object) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    session = requests.Session()
    session.trust_env = False
    with session:
        return session.get(url, headers=headers, timeout=TIMEOUT, **kwargs)  # type: ignore[arg-type]


def test_serve_prints_the_base_url_first_and_serves_the_api() -> None:
    with serving() as (process, base_url):
        assert base_url.startswith("http://127.0.0.1:")
        assert base_url.endswith("/contextcapture")
        answer = _get(f"{base_url}/limits/engines", "anything")
        assert answer.status_code == 200
        assert answer.json() == {"enginesLimit": {"maxEngines": 25}}
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=TIMEOUT) == 0
        assert process.stderr is not None
        assert "emulator stopped" in process.stderr.read()


def test_serve_stops_cleanly_on_sigterm() -> None:
    with serving() as (process, base_url):
        assert _get(f"{base_url}/limits/engines", "x").status_code == 200
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=TIMEOUT) == 0


def test_serve_with_token_accepts_only_that_token() -> None:
    with serving("--token", "alpha", "--token", "beta") as (_, base_url):
        assert _get(f"{base_url}/limits/engines", "alpha").status_code == 200
        assert _get(f"{base_url}/limits/engines", "beta").status_code == 200
        refused = _get(f"{base_url}/limits/engines", "gamma")
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "Unauthorized"


def test_serve_with_clients_issues_tokens(tmp_path: Path) -> None:
    with serving("--client", "app:secret", "--data", str(tmp_path / "e.sqlite")) as (_, base_url):
        root = base_url.removesuffix("/contextcapture")
        body = (
            "grant_type=client_credentials&client_id=app&client_secret=secret&scope=itwin-platform"
        )
        request = urllib.request.Request(f"{root}/connect/token", data=body.encode(), method="POST")
        with urllib.request.urlopen(request, timeout=TIMEOUT) as answer:
            issued = json.loads(answer.read())
        assert _get(f"{base_url}/limits/engines", issued["access_token"]).status_code == 200
    assert (tmp_path / "e.sqlite").exists()


def test_serve_speaks_https_with_a_certificate(tmp_path: Path) -> None:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl command is not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
        timeout=60,
    )  # fmt: skip
    with serving("--tls-cert", str(cert), "--tls-key", str(key)) as (_, base_url):
        assert base_url.startswith("https://127.0.0.1:")
        answer = _get(f"{base_url}/limits/engines", "t", verify=str(cert))
        assert answer.status_code == 200
        with pytest.raises(requests.exceptions.SSLError):
            _get(f"{base_url}/limits/engines", "t", verify=True)


def test_serve_refuses_unusable_options_with_a_message() -> None:
    from click.testing import CliRunner

    result = CliRunner().invoke(cli, ["serve", "--port", "0", "--drop-rate", "2"])
    assert result.exit_code == 1
    assert "drop_rate 2.0 is not between 0 and 1" in result.output


def test_serve_refuses_a_malformed_client() -> None:
    from click.testing import CliRunner

    result = CliRunner().invoke(cli, ["serve", "--client", "nosecret"])
    assert result.exit_code != 0
    assert "expected ID:SECRET" in result.output
