"""The command line: thin click commands; the only place that prints errors and picks exit codes."""

from rmapply.gc_pause import gc_paused

# click and the commands' table: long-lived objects only, no collection needs to walk them
with gc_paused(promote=True):
    from rmapply.cli.main import cli, main

__all__ = ["cli", "main"]
