"""Variables: [vars] < vars/default.* < --var-file < RMAPPLY_VAR_* < --var."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from rmapply.errors import ConfigError, ManifestError
from rmapply.manifests.variables import parse_assignment, parse_value
from tests.manifests.conftest import CONFIG, load

MakeDir = Callable[..., Path]

FILES = {
    "rmapply.toml": CONFIG + '[vars]\na = "toml"\nb = "toml"\nc = "toml"\nd = "toml"\ne = "toml"\n',
    "vars/default.yaml": "b: default\nc: default\nd: default\ne: default\n",
    "vars/prod.json": '{"c": "file", "d": "file", "e": "file"}',
}


def test_precedence_from_lowest_to_highest(make_dir: MakeDir) -> None:
    result = load(
        make_dir(FILES),
        var_files=["vars/prod.json"],
        environ={"RMAPPLY_VAR_d": "env", "RMAPPLY_VAR_e": "env"},
        cli_vars={"e": "cli"},
    )
    assert result.variables.values == {
        "a": "toml",
        "b": "default",
        "c": "file",
        "d": "env",
        "e": "cli",
    }
    assert result.variables.origins == {
        "a": "rmapply.toml [vars]",
        "b": "vars/default.yaml",
        "c": "vars/prod.json",
        "d": "RMAPPLY_VAR_d",
        "e": "--var",
    }
    assert result.variables.files == ("vars/default.yaml", "vars/prod.json")


def test_later_var_files_win_and_vars_digest_follows_values(make_dir: MakeDir) -> None:
    directory = make_dir({**FILES, "vars/x.toml": 'c = "x"\n'})
    first = load(directory, var_files=["vars/prod.json", "vars/x.toml"])
    assert first.variables.values["c"] == "x"
    second = load(directory, var_files=["vars/x.toml", "vars/prod.json"])
    assert second.variables.values["c"] == "file"
    assert first.vars_digest != second.vars_digest
    assert (
        load(directory, var_files=["vars/x.toml", "vars/prod.json"]).vars_digest
        == second.vars_digest
    )


def test_values_are_json_when_they_parse_else_text() -> None:
    assert parse_value('["a", 2]') == ["a", 2]
    assert parse_value("3") == 3
    assert parse_value("true") is True
    assert parse_value("hello world") == "hello world"
    assert parse_assignment("sites=[1]") == ("sites", [1])
    assert parse_assignment("name=a=b") == ("name", "a=b")


def test_environment_values_are_parsed_like_var(make_dir: MakeDir) -> None:
    result = load(make_dir({}), environ={"RMAPPLY_VAR_n": "5", "OTHER": "x"})
    assert result.variables.values == {"n": 5}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("novalue", "--var 'novalue': expected name=value"),
        ("1x=2", "--var '1x=2': '1x' is not a variable name (use [A-Za-z_][A-Za-z0-9_]*)"),
        (
            "env=2",
            "--var 'env=2': 'env' is reserved for a template helper; choose another variable name",
        ),
    ],
)
def test_bad_assignments_are_config_errors(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_assignment(text)
    assert caught.value.message == message


def test_reserved_names_are_refused_wherever_they_come_from(make_dir: MakeDir) -> None:
    with pytest.raises(ConfigError) as caught:
        load(make_dir({}), environ={"RMAPPLY_VAR_vars": "1"})
    assert caught.value.message == (
        "RMAPPLY_VAR_vars: 'vars' is reserved for a template helper; choose another variable name"
    )


def test_broken_var_file_names_its_line(make_dir: MakeDir) -> None:
    directory = make_dir({"vars/bad.yaml": "a: 1\nb: [\n"})
    with pytest.raises(ManifestError) as caught:
        load(directory, var_files=["vars/bad.yaml"])
    assert [p.render() for p in caught.value.problems] == [
        "vars/bad.yaml:3:1: invalid YAML: did not find expected node content (while parsing a "
        "flow node)"
    ]


def test_var_file_must_be_a_mapping(make_dir: MakeDir) -> None:
    directory = make_dir({"vars/default.yaml": "- a\n- b\n"})
    with pytest.raises(ManifestError) as caught:
        load(directory)
    assert [p.render() for p in caught.value.problems] == [
        "vars/default.yaml:1: a variable file must be a mapping of name: value"
    ]


def test_missing_and_unsupported_var_files(make_dir: MakeDir) -> None:
    directory = make_dir({"vars/a.txt": "x"})
    with pytest.raises(ConfigError) as caught:
        load(directory, var_files=["vars/none.yaml"])
    assert (caught.value.message, caught.value.hint) == (
        "variable file vars/none.yaml does not exist or is not a regular file",
        f"a relative --var-file path is relative to the manifests directory ({directory})",
    )
    with pytest.raises(ConfigError) as caught:
        load(directory, var_files=["vars/a.txt"])
    assert caught.value.message == "--var-file vars/a.txt: use a .yaml, .yml, .toml or .json file"


def test_only_one_default_var_file(make_dir: MakeDir) -> None:
    directory = make_dir({"vars/default.yaml": "a: 1\n", "vars/default.json": "{}"})
    with pytest.raises(ConfigError) as caught:
        load(directory)
    assert caught.value.message == (
        "several default variable files: vars/default.yaml, vars/default.json; keep one"
    )


def test_values_nested_too_deeply_on_the_command_line_are_refused(make_dir: MakeDir) -> None:
    deep = "[" * 40 + "]" * 40
    with pytest.raises(ConfigError) as caught:
        load(make_dir({}), cli_vars={"x": deep})
    assert caught.value.message == "--var x: the value is nested deeper than 32 levels"
    with pytest.raises(ConfigError) as caught:
        load(make_dir({}), environ={"RMAPPLY_VAR_x": deep})
    assert caught.value.message == "RMAPPLY_VAR_x: the value is nested deeper than 32 levels"


def test_text_that_is_not_json_stays_text_with_its_spaces_and_quotes() -> None:
    assert parse_value(' "half quoted') == ' "half quoted'
    assert parse_value('"quoted"') == "quoted"
    assert parse_value("") == ""
    assert parse_value("NaN") != parse_value("NaN")  # JSON's NaN, like json.loads
    assert parse_value("[1, 2") == "[1, 2"


def test_vars_digest_tells_apart_order_types_and_dates(make_dir: MakeDir) -> None:
    directory = make_dir({})
    digests = {
        load(directory, cli_vars={"x": text}).vars_digest
        for text in ['{"a": 1, "b": 2}', '{"b": 2, "a": 1}', "1", "1.0", '"1"', "true"]
    }
    assert len(digests) == 6
    dated = make_dir({"vars/default.yaml": "x: 2024-01-01\n"})
    texted = make_dir({"vars/default.yaml": "x: '2024-01-01'\n"})
    assert load(dated).vars_digest != load(texted).vars_digest


def test_vars_of_rmapply_toml_nested_too_deeply_are_refused(make_dir: MakeDir) -> None:
    deep = "[" * 100 + "]" * 100
    with pytest.raises(ConfigError) as caught:
        load(make_dir({"rmapply.toml": CONFIG + f"[vars]\nx = {deep}\n"}))
    assert caught.value.message == "rmapply.toml [vars]: nested deeper than 32 levels"
