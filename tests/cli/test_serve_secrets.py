"""``rmapply serve`` takes its tokens and client secrets from the environment, out of ``ps``."""

from __future__ import annotations

import os
import signal
import subprocess
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.cli.project import run
from tests.cli.test_serve import RMAPPLY, TIMEOUT, _get


@contextmanager
def serving_with(env: dict[str, str]) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """``rmapply serve --port 0`` with extra environment; the process and its base URL."""
    process = subprocess.Popen(
        [*RMAPPLY, "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **env},
    )
    try:
        assert process.stdout is not None
        yield process, process.stdout.readline().strip()
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def _command_line(process: subprocess.Popen[str]) -> str:
    """What ``ps`` shows of a process."""
    cmdline = Path(f"/proc/{process.pid}/cmdline")
    if not cmdline.exists():
        pytest.skip("no /proc on this system")
    return cmdline.read_bytes().replace(b"\0", b" ").decode()


def test_serve_reads_its_tokens_from_the_environment_and_keeps_them_out_of_ps() -> None:
    with serving_with({"RMAPPLY_SERVE_TOKEN": "alpha-T0K beta-T0K"}) as (process, base_url):
        assert _get(f"{base_url}/limits/engines", "alpha-T0K").status_code == 200
        assert _get(f"{base_url}/limits/engines", "beta-T0K").status_code == 200
        assert _get(f"{base_url}/limits/engines", "gamma").status_code == 401
        assert "T0K" not in _command_line(process)


def test_serve_reads_its_clients_from_the_environment() -> None:
    with serving_with({"RMAPPLY_SERVE_CLIENT": "app:S3CRET"}) as (process, base_url):
        root = base_url.removesuffix("/contextcapture")
        form = (
            "grant_type=client_credentials&client_id=app&client_secret=S3CRET&scope=itwin-platform"
        )
        request = urllib.request.Request(f"{root}/connect/token", data=form.encode(), method="POST")
        with urllib.request.urlopen(request, timeout=TIMEOUT) as answer:
            assert answer.status == 200
        assert _get(f"{base_url}/limits/engines", "unknown").status_code == 401
        assert "S3CRET" not in _command_line(process)


def test_a_token_flag_wins_over_the_environment() -> None:
    env = {"RMAPPLY_SERVE_TOKEN": "from-env"}
    process = subprocess.Popen(
        [*RMAPPLY, "serve", "--port", "0", "--token", "from-flag"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, **env},
    )
    try:
        assert process.stdout is not None
        base_url = process.stdout.readline().strip()
        assert _get(f"{base_url}/limits/engines", "from-flag").status_code == 200
        assert _get(f"{base_url}/limits/engines", "from-env").status_code == 401
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=TIMEOUT)
        assert process.stdout is not None
        process.stdout.close()


def test_a_malformed_client_in_the_environment_is_refused_without_showing_it() -> None:
    code, out, err = run("serve", "--port", "0", env={"RMAPPLY_SERVE_CLIENT": "only-a-S3CRET"})
    assert code == 1
    assert "S3CRET" not in out + err
    assert "Invalid value for --client (or RMAPPLY_SERVE_CLIENT): expected ID:SECRET" in err


def test_serve_help_names_the_environment_variables() -> None:
    code, out, _ = run("serve", "--help")
    assert code == 0
    assert "RMAPPLY_SERVE_TOKEN" in out
    assert "RMAPPLY_SERVE_CLIENT" in out
