"""Every command is documented: docs/cli.md is exactly what the commands' help says."""

from __future__ import annotations

import os

from tests.cli.cli_reference import cli_reference
from tests.reference import REPO

PAGE = REPO / "docs" / "cli.md"


def test_cli_reference_page_is_up_to_date() -> None:
    expected = cli_reference()
    if os.environ.get("RMAPPLY_UPDATE_GOLDEN") == "1":
        PAGE.write_text(expected, encoding="utf-8")
    assert PAGE.read_text(encoding="utf-8") == expected, (
        "docs/cli.md is out of date: RMAPPLY_UPDATE_GOLDEN=1 python -m pytest "
        "tests/cli/test_cli_reference.py"
    )


def test_every_command_appears_in_the_readme_or_the_reference() -> None:
    text = PAGE.read_text(encoding="utf-8")
    for command in (
        "validate",
        "render",
        "schema",
        "init",
        "plan",
        "show",
        "apply",
        "status",
        "wait",
        "refresh",
        "import",
        "state",
        "output",
        "serve",
        "graph",
    ):
        assert f"## `rmapply {command}`" in text, command


def test_every_command_module_is_registered_with_each_of_its_commands() -> None:
    import importlib
    import pkgutil

    import rmapply.cli
    from rmapply.cli.main import COMMAND_MODULES

    found: dict[str, str] = {}
    for info in pkgutil.iter_modules(rmapply.cli.__path__):
        module = importlib.import_module(f"rmapply.cli.{info.name}")
        for command in getattr(module, "COMMANDS", []):
            found[command.name] = info.name
    assert found == COMMAND_MODULES
