"""``rmapply serve``: run the Reality Modeling emulator until SIGINT or SIGTERM."""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections import Counter
from pathlib import Path
from types import FrameType

import click

from rmapply.cli.options import dir_option
from rmapply.emulator import Emulator, EmulatorOptions
from rmapply.errors import ConfigError, redact_urls

LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
ENV_SERVE_TOKEN = "RMAPPLY_SERVE_TOKEN"
ENV_SERVE_CLIENT = "RMAPPLY_SERVE_CLIENT"


def _client(value: str) -> tuple[str, str]:
    client_id, sep, secret = value.partition(":")
    if not sep or not client_id or not secret:
        # The value is not shown: without its ":" it may be the secret itself.
        raise click.BadParameter(
            "expected ID:SECRET, with a client id and a secret on both sides of a ':'",
            param_hint=f"--client (or {ENV_SERVE_CLIENT})",
        )
    return client_id, secret


@click.command("serve")
@dir_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=8080, show_default=True, type=int, help="Port (0 = a free one).")
@click.option(
    "--data",
    type=click.Path(dir_okay=False),
    default=None,
    help="SQLite file to keep jobs in across restarts (default: in memory).",
)
@click.option(
    "--token",
    "tokens",
    multiple=True,
    envvar=ENV_SERVE_TOKEN,
    show_envvar=True,
    help="Accept only this bearer token (repeatable; the variable holds space-separated tokens, "
    "and keeps them out of the process list).",
)
@click.option(
    "--client",
    "clients",
    multiple=True,
    metavar="ID:SECRET",
    envvar=ENV_SERVE_CLIENT,
    show_envvar=True,
    help="Register a client for POST /connect/token (repeatable; the variable holds "
    "space-separated ID:SECRET pairs, and keeps them out of the process list).",
)
@click.option("--tls-cert", type=click.Path(exists=True, dir_okay=False), help="PEM certificate.")
@click.option("--tls-key", type=click.Path(exists=True, dir_okay=False), help="PEM private key.")
@click.option("--latency-ms", default=0.0, type=float, help="Delay before every answer.")
@click.option("--jitter-ms", default=0.0, type=float, help="Random +/- spread of the delay.")
@click.option(
    "--post-latency-ms", default=0.0, type=float, help="Extra delay before handling a POST."
)
@click.option(
    "--post-jitter-ms", default=0.0, type=float, help="Random +/- spread of the POST delay."
)
@click.option(
    "--rate-limit",
    default=None,
    type=int,
    help="Requests per minute per token: a bucket of that many, refilled evenly.",
)
@click.option(
    "--rate-limit-burst",
    default=None,
    type=int,
    metavar="N",
    help="Requests the rate limit's bucket holds (default: --rate-limit, a minute's worth).",
)
@click.option("--fail-rate", default=0.0, type=float, help="Fraction answered 503 unprocessed.")
@click.option(
    "--drop-rate", default=0.0, type=float, help="Fraction processed, then left unanswered."
)
@click.option("--speed", default=1.0, type=float, help="Simulated seconds per real second.")
@click.option("--seed", default=None, type=int, help="Seed of the random faults.")
@click.option("--max-engines", default=25, type=int, show_default=True, help="Engines limit.")
def serve(
    *,
    directory: Path,
    host: str,
    port: int,
    data: str | None,
    tokens: tuple[str, ...],
    clients: tuple[str, ...],
    tls_cert: str | None,
    tls_key: str | None,
    latency_ms: float,
    jitter_ms: float,
    post_latency_ms: float,
    post_jitter_ms: float,
    rate_limit: int | None,
    rate_limit_burst: int | None,
    fail_rate: float,
    drop_rate: float,
    speed: float,
    seed: int | None,
    max_engines: int,
) -> None:
    """Run a local Reality Modeling emulator; the first line printed is its base URL.

    The emulator reads no manifests: -C is accepted like everywhere else, and --data is
    relative to the current directory.
    """
    options = EmulatorOptions(
        host=host,
        port=port,
        data=data,
        tokens=tokens,
        clients=dict(_client(c) for c in clients),
        latency_ms=latency_ms,
        jitter_ms=jitter_ms,
        post_latency_ms=post_latency_ms,
        post_jitter_ms=post_jitter_ms,
        rate_limit=rate_limit,
        rate_limit_burst=rate_limit_burst,
        fail_rate=fail_rate,
        drop_rate=drop_rate,
        speed=speed,
        seed=seed,
        tls_cert=tls_cert,
        tls_key=tls_key,
        max_engines=max_engines,
    )
    problems = options.problems()
    if problems:
        raise ConfigError(
            "the emulator options are not usable: " + "; ".join(problems),
            hint="see 'rmapply serve --help'",
        )
    emulator = Emulator(options).start()  # ConfigError: database, certificate or address
    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {s: signal.signal(s, _on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        _say(redact_urls(emulator.base_url))
        _say(f"token endpoint: {redact_urls(emulator.token_url)}")
        if host not in LOOPBACK:
            _say(
                f"warning: listening on {host}: other machines can reach this emulator, which "
                "has no real security (any token may be accepted)",
                err=True,
            )
        _say("stop with Ctrl+C (SIGINT) or SIGTERM", err=True)
        while not stop.wait(0.5):
            pass
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        tally = emulator.request_tally()
        emulator.stop()
    _say(f"emulator stopped; {request_line(tally)}", err=True)


def request_line(tally: Counter[str]) -> str:
    """``N requests: GET /contextcapture/jobs/{id}/progress 120, POST ...`` (most first)."""
    counts = ", ".join(f"{route} {n}" for route, n in tally.most_common())
    return f"{sum(tally.values())} requests" + (f": {counts}" if counts else "")


def _say(line: str, *, err: bool = False) -> None:
    """Print a line; a reader that went away (``| head -1``) must not stop the emulator."""
    try:
        click.echo(line, err=err)
    except OSError:
        # Nobody reads any more: serve on, and let nothing be flushed into the pipe at exit.
        quiet = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the process
        if err:
            sys.stderr = quiet
        else:
            sys.stdout = quiet


COMMANDS: list[click.Command] = [serve]
