"""One convention everywhere: -C, --debug and --no-color before or after the command, Terraform
spellings answered with the right option, examples in every help, summaries never cut."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from rmapply.cli import cli
from tests.cli.cli_reference import walk_commands
from tests.reference import REPO

EXAMPLE = str(REPO / "manifests")
COMMAND_PATHS = [path[1:] for path, _ in walk_commands()][1:]
LEAVES = [path[1:] for path, command in walk_commands() if not isinstance(command, click.Group)]


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), env=env or {}, prog_name="rmapply")
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["plan", "-var", "x=1"], "No such option: -var. Did you mean --var?"),
        (["plan", "-var=x=1"], "No such option: -var. Did you mean --var?"),
        (["plan", "-out", "plan.json"], "No such option: -out. Did you mean --out?"),
        (["plan", "-json"], "No such option: -json. Did you mean --format json?"),
        (["output", "-json"], "No such option: -json. Did you mean --json?"),
        (["plan", "-target", "jobs.a"], "No such option: -target. Did you mean --target?"),
        (["apply", "-replace", "jobs.a"], "No such option: -replace. Did you mean --replace?"),
        (["apply", "-auto-approve"], "No such option: -auto-approve. Did you mean --auto-approve?"),
        (
            ["apply", "-lock-timeout=5"],
            "No such option: -lock-timeout. Did you mean --lock-timeout?",
        ),
        (
            ["state", "rm", "-lock-timeout", "5", "jobs.a"],
            "No such option: -lock-timeout. Did you mean --lock-timeout?",
        ),
        (["-debug", "plan"], "No such option: -debug. Did you mean --debug?"),
    ],
)
def test_a_terraform_spelling_is_answered_with_the_two_dash_option(
    args: list[str], line: str
) -> None:
    code, out, err = run(*args)
    assert (code, out) == (1, "")
    assert err.splitlines()[-1] == f"Error: {line}"


def test_a_single_dash_option_that_exists_nowhere_says_options_take_two_dashes() -> None:
    code, _, err = run("plan", "-lock=false")
    assert code == 1
    assert err.splitlines()[-1] == (
        "Error: No such option: -lock (long options take two dashes here, and "
        "'rmapply plan --lock' does not exist either)."
    )


def test_a_short_option_with_its_value_attached_is_not_mistaken_for_a_habit() -> None:
    code, out, err = run("validate", f"-C{EXAMPLE}", "--no-cache")
    assert (code, err) == (0, "")
    assert out.startswith("Valid: ")


@pytest.mark.parametrize(
    "args",
    [
        ["-C", EXAMPLE, "validate", "--no-cache"],
        ["validate", "-C", EXAMPLE, "--no-cache"],
        ["--dir", EXAMPLE, "--no-color", "--debug", "validate", "--no-cache"],
        ["validate", "--no-cache", "--debug", "--no-color", "--dir", EXAMPLE],
    ],
)
def test_directory_debug_and_no_color_work_before_or_after_the_command(args: list[str]) -> None:
    code, out, err = run(*args)
    assert (code, err) == (0, "")
    assert out.startswith("Valid: 1 workspace, 6 jobs")


def test_a_directory_after_the_command_wins_over_one_before_it(tmp_path: Path) -> None:
    code, out, _ = run("-C", str(tmp_path), "validate", "-C", EXAMPLE, "--no-cache")
    assert code == 0 and out.startswith("Valid: ")


def test_debug_after_the_command_re_raises_the_error_with_its_traceback(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["validate", "-C", str(tmp_path / "nowhere"), "--debug"])
    assert result.exit_code == 1
    assert type(result.exception).__name__ == "ConfigError"
    plain = CliRunner().invoke(cli, ["validate", "-C", str(tmp_path / "nowhere")])
    assert plain.exit_code == 1 and isinstance(plain.exception, SystemExit)


class _Terminal:
    """Stands for a terminal on stdout: colour is on unless something turns it off."""

    class stdout:  # noqa: N801 - the name of the attribute it stands for
        @staticmethod
        def isatty() -> bool:
            return True


@pytest.mark.parametrize(
    ("args", "env"),
    [
        (["--no-color", "plan", "-C", EXAMPLE, "--no-refresh"], {}),
        (["plan", "-C", EXAMPLE, "--no-refresh", "--no-color"], {}),
        (["plan", "-C", EXAMPLE, "--no-refresh"], {"NO_COLOR": "1"}),
    ],
    ids=["before", "after", "NO_COLOR"],
)
def test_no_color_before_or_after_the_command_turns_colour_off_like_no_color(
    monkeypatch: pytest.MonkeyPatch, args: list[str], env: dict[str, str]
) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setattr("rmapply.cli.options.sys", _Terminal)
    # color=True: click keeps the escapes that a terminal would get
    coloured = CliRunner().invoke(cli, ["plan", "-C", EXAMPLE, "--no-refresh"], color=True)
    assert coloured.exit_code == 0 and "\x1b[" in coloured.stdout  # so the check below can fail
    plain = CliRunner().invoke(cli, args, env=env, color=True)
    assert plain.exit_code == 0, plain.output
    assert "\x1b[" not in plain.stdout
    assert plain.stdout.splitlines()[-1].startswith("Plan: 7 to create")


@pytest.mark.parametrize("path", LEAVES, ids=" ".join)
def test_every_command_accepts_the_manifests_directory(path: list[str]) -> None:
    result = CliRunner().invoke(cli, [*path, "-C", EXAMPLE, "--help"])
    assert result.exit_code == 0, result.output
    assert "-C, --dir DIRECTORY" in result.output


@pytest.mark.parametrize("path", COMMAND_PATHS, ids=" ".join)
def test_every_command_help_ends_with_examples(path: list[str]) -> None:
    result = CliRunner().invoke(cli, [*path, "--help"], terminal_width=80)
    assert result.exit_code == 0, result.output
    before, found, examples = result.output.partition("\n  Examples:\n")
    assert found, result.output
    lines = examples.splitlines()
    assert lines and all(line.startswith("    rmapply ") for line in lines), examples
    assert "--debug" in before and "--no-color" in before


@pytest.mark.parametrize("group", [[], ["state"]], ids=["rmapply", "rmapply state"])
def test_no_summary_in_a_command_list_is_cut_short(group: list[str]) -> None:
    result = CliRunner().invoke(cli, [*group, "--help"], terminal_width=80)
    commands = result.output.split("Commands:\n", 1)[1].splitlines()
    assert len(commands) >= 6
    for line in commands:
        assert not line.rstrip().endswith("..."), line
        assert len(line) <= 80, line


def test_json_is_only_an_alias_of_format_json_on_the_commands_that_had_it() -> None:
    with_json, without_format = [], []
    for path, command in walk_commands():
        names = {name for param in command.params for name in param.opts}
        if "--json" in names:
            with_json.append(" ".join(path[1:]))
            if "--format" not in names:
                without_format.append(" ".join(path[1:]))
    assert sorted(with_json) == ["apply", "output", "status", "wait"]
    assert without_format == []
    shown = CliRunner().invoke(cli, ["output", "--help"]).output
    assert "Same as --format json (kept as an alias)." in " ".join(shown.split())
