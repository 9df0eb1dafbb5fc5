"""The command line: thin click commands; the only place that prints errors and picks exit codes."""

from rmapply.cli.main import cli, main

__all__ = ["cli", "main"]
