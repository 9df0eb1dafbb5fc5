"""``rmapply serve``: run the Reality Modeling emulator (placeholder until the emulator lands)."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []
