"""``--local``: the embedded emulator, started in process for one command, data kept on disk."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rmapply.errors import ConfigError
from rmapply.gc_pause import gc_paused
from rmapply.project import LOCAL_DATA, LOCAL_DIR, Endpoint, Project

# A simulated minute per real second: a local job finishes in a few seconds, so `--wait` and
# `rmapply wait --local` are quick, while progress still moves visibly.
LOCAL_SPEED = 60.0
# A fixed token: the emulator derives the caller's identity (the jobs' email) from it, and the
# embedded emulator listens on loopback only for the duration of one command.
LOCAL_TOKEN = "rmapply-local"


def local_data_path(directory: Path) -> Path:
    """Where ``--local`` keeps the emulator's jobs, so separate invocations see the same ones."""
    return directory / LOCAL_DIR / LOCAL_DATA


@contextmanager
def open_endpoint(project: Project, endpoint: str | None, local: bool) -> Iterator[Endpoint]:
    """The endpoint for this command (the project's state is checked against it from now on);
    with ``local``, an emulator running for its duration and the ``--local`` state."""
    if not local:
        chosen = project.endpoint(endpoint)
        project.use_endpoint(chosen)
        yield chosen
        return
    if endpoint:
        raise ConfigError(
            "--local and --endpoint exclude each other",
            hint="drop --endpoint to use the embedded emulator",
        )
    data = local_data_path(project.directory)
    try:
        data.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create {data.parent}: {exc.strerror}") from exc
    # imports and start-up build only long-lived objects: no collection needs to walk them
    with gc_paused(promote=True):
        from rmapply.emulator import Emulator, EmulatorOptions  # only --local needs it

        options = EmulatorOptions(port=0, data=data, tokens=(LOCAL_TOKEN,), speed=LOCAL_SPEED)
        started = Emulator(options).start()
    with started as emulator:
        chosen = Endpoint(emulator.base_url, "--local", local_token=LOCAL_TOKEN)
        project.use_endpoint(chosen)  # its own state under .rmapply/, bound to its data
        yield chosen
