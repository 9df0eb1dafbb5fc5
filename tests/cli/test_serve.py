"""``rmapply serve`` as a subprocess: the base URL first, --token, TLS, clean stop on signals."""

from __future__ import annotations

import json
import signal
import socket
import sqlite3
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner

from rmapply.cli.main import cli
from rmapply.cli.serve import serve

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
        said = process.stderr.read()
        assert "emulator stopped" in said


def test_serve_tells_the_requests_it_received_by_route_when_it_stops() -> None:
    with serving() as (process, base_url):
        for _ in range(2):
            _get(f"{base_url}/limits/engines", "x")
        _get(f"{base_url}/jobs/58e0c0ca-1d8d-4e8b-9a3c-2f3a1b5c7d90/progress", "x")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=TIMEOUT) == 0
        assert process.stderr is not None
        assert (
            "emulator stopped; 3 requests: GET /contextcapture/limits/engines 2, "
            "GET /contextcapture/jobs/{id}/progress 1\n"
        ) in process.stderr.read()


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


def test_serve_speaks_https_with_a_certificate(tls_certificate: tuple[Path, Path]) -> None:
    cert, key = tls_certificate
    with serving("--tls-cert", str(cert), "--tls-key", str(key)) as (_, base_url):
        assert base_url.startswith("https://127.0.0.1:")
        answer = _get(f"{base_url}/limits/engines", "t", verify=str(cert))
        assert answer.status_code == 200
        with pytest.raises(requests.exceptions.SSLError):
            _get(f"{base_url}/limits/engines", "t", verify=True)


ISSUE_FLAGS = {
    "--host", "--port", "--data", "--token", "--tls-cert", "--tls-key", "--latency-ms",
    "--jitter-ms", "--rate-limit", "--fail-rate", "--drop-rate", "--speed",
}  # fmt: skip


def _refusal(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["serve", *args])
    return result.exit_code, result.output


def test_serve_has_every_flag_the_issue_names_and_binds_loopback_by_default() -> None:
    flags = {opt for param in serve.params for opt in param.opts}
    assert ISSUE_FLAGS - flags == set()
    defaults = {param.name: param.default for param in serve.params}
    assert defaults["host"] == "127.0.0.1"


def test_serve_is_not_reachable_from_other_interfaces_by_default() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 1))  # no packet is sent; picks the outgoing address
            address = probe.getsockname()[0]
        except OSError:
            address = "127.0.0.1"
    if address.startswith("127."):
        pytest.skip("this machine has no address besides loopback")
    with serving() as (_, base_url):
        port = int(base_url.rsplit(":", 1)[1].split("/")[0])
        with pytest.raises(requests.exceptions.ConnectionError):
            _get(f"http://{address}:{port}/contextcapture/limits/engines", "x")
        assert _get(f"{base_url}/limits/engines", "x").status_code == 200


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--fail-rate", "2"], "fail_rate 2.0 is not between 0 and 1"),
        (["--drop-rate", "-0.1"], "drop_rate -0.1 is not between 0 and 1"),
        (["--rate-limit", "0"], "rate_limit 0 must be at least 1 request per minute"),
        (["--rate-limit-burst", "0"], "rate_limit_burst 0 must be at least 1 request"),
        (["--speed", "-1"], "speed -1.0 must not be negative (0 freezes the clock)"),
        (["--port", "70000"], "port 70000 is not between 0 and 65535"),
        (["--latency-ms", "-5"], "latency_ms and jitter_ms must not be negative"),
    ],
)
def test_serve_refuses_unusable_values_with_a_message_and_exit_1(
    args: list[str], message: str
) -> None:
    code, output = _refusal("--port", "0", *args) if "--port" not in args else _refusal(*args)
    assert code == 1
    assert output == (
        f"Error: the emulator options are not usable: {message}\nHint: see 'rmapply serve --help'\n"
    )


def test_serve_with_a_missing_certificate_file_exits_1(tmp_path: Path) -> None:
    missing = tmp_path / "cert.pem"
    code, output = _refusal("--tls-cert", str(missing), "--tls-key", str(missing))
    assert code == 1
    assert f"Invalid value for '--tls-cert': File '{missing}' does not exist." in output


def test_serve_with_a_file_that_is_not_a_certificate_says_so(tmp_path: Path) -> None:
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    code, output = _refusal("--port", "0", "--tls-cert", str(junk), "--tls-key", str(junk))
    assert code == 1
    assert output.startswith(
        f"Error: cannot serve HTTPS with --tls-cert {junk} and --tls-key {junk}: "
        "they are not a PEM certificate and its private key\nHint: give a PEM certificate"
    )


def test_serve_with_a_key_of_another_certificate_says_so(
    tls_certificate: tuple[Path, Path], tmp_path: Path
) -> None:
    other_key = tmp_path / "other.pem"
    subprocess.run(
        ["openssl", "genrsa", "-out", str(other_key), "2048"], check=True, capture_output=True
    )
    cert = tls_certificate[0]
    code, output = _refusal("--port", "0", "--tls-cert", str(cert), "--tls-key", str(other_key))
    assert code == 1
    assert "the key does not belong to the certificate" in output


def test_serve_on_a_port_in_use_says_so_and_exits_1() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, output = _refusal("--port", str(port))
    assert code == 1
    assert output == (
        f"Error: cannot listen on 127.0.0.1:{port}: the port is in use\n"
        "Hint: stop the program using it, choose another --port, or --port 0 for a free one\n"
    )


def test_serve_refuses_a_database_of_another_program_and_leaves_it_untouched(
    tmp_path: Path,
) -> None:
    foreign = tmp_path / "app.db"
    with sqlite3.connect(foreign) as db:
        db.execute("CREATE TABLE users (name TEXT)")
    before = foreign.read_bytes()
    code, output = _refusal("--port", "0", "--data", str(foreign))
    assert code == 1
    assert output.startswith(
        f"Error: {foreign} is not an rmapply emulator database: it holds the tables of another "
        "program; it was left untouched\n"
    )
    assert foreign.read_bytes() == before


def test_serve_in_a_missing_folder_says_which_database_cannot_be_opened(tmp_path: Path) -> None:
    where = tmp_path / "no-such-folder" / "e.sqlite"
    code, output = _refusal("--port", "0", "--data", str(where))
    assert code == 1
    assert output.startswith(
        f"Error: cannot open the emulator database {where}: unable to open database file\n"
    )


def test_serve_keeps_serving_when_the_reader_of_its_output_goes_away() -> None:
    with serving() as (process, base_url):
        assert process.stdout is not None
        process.stdout.close()  # like `rmapply serve --port 0 | head -1`
        assert _get(f"{base_url}/limits/engines", "x").status_code == 200
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=TIMEOUT) == 0


def test_serve_warns_when_it_listens_beyond_loopback() -> None:
    with serving("--host", "0.0.0.0") as (process, base_url):
        assert base_url.startswith("http://127.0.0.1:")
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=TIMEOUT)
        assert process.stderr is not None
        assert process.stderr.readline().startswith(
            "warning: listening on 0.0.0.0: other machines can reach this emulator"
        )


def test_serve_refuses_a_malformed_client() -> None:
    code, output = _refusal("--client", "nosecret")
    assert code == 1
    assert "expected ID:SECRET" in output
