"""ProjectConfig from rmapply.toml: every key optional, unknown keys refused with did-you-mean."""

from __future__ import annotations

from pathlib import Path

import pytest

from rmapply.config import ProjectConfig, load_config, parse_config
from rmapply.errors import ConfigError
from rmapply.wire import CostEstimationParameters, Quality

FULL = b"""\
[project]
iTwinId = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
name = "Bridges"

[api]
endpoint = "http://127.0.0.1:8080/contextcapture/"
tokenUrl = "https://ims.bentley.com/connect/token"
retryBudget = 120

[state]
backend = "local"
path = "state/rmapply.state.json"
versions = 3

[defaults]
submit = false
retryFailed = true

[vars]
sites = ["a", "b"]

[budget]
maxCost = 100.0

[cost]
gigaPixelRate = 2.0
megaPointRate = 0.5
draftFactor = 0.5
mediumFactor = 1.0
extraFactor = 1.5

[apply]
parallelism = 4
"""


def test_every_key_is_read(tmp_path: Path) -> None:
    config = parse_config(FULL, directory=tmp_path)
    assert config.found
    assert config.itwin_id == "3fa85f64-5717-4562-b3fc-2c963f66afa6"
    assert config.api.endpoint == "http://127.0.0.1:8080/contextcapture"
    assert config.api.retry_budget == 120.0
    assert config.state_path == tmp_path / "state" / "rmapply.state.json"
    assert config.state.versions == 3
    assert config.state.backend == "local"
    assert (config.defaults.submit, config.defaults.retry_failed) == (False, True)
    assert config.vars == {"sites": ["a", "b"]}
    assert config.budget.max_cost == 100.0
    assert config.apply.parallelism == 4
    params = CostEstimationParameters(giga_pixels=2, mega_points=4, mesh_quality=Quality.EXTRA)
    assert config.cost.estimate(params) == (2 * 2.0 + 4 * 0.5) * 1.5


def test_absent_file_gives_defaults_that_plan_refuses(tmp_path: Path) -> None:
    config = load_config(tmp_path)
    assert not config.found
    assert config == ProjectConfig.at(tmp_path)
    assert config.api.endpoint == "https://api.bentley.com/contextcapture"
    assert config.defaults.submit is True
    assert config.api.retry_budget == 900.0  # 15 minutes
    assert config.state_path == tmp_path / "rmapply.state.json"
    assert config.state.versions == 5
    with pytest.raises(ConfigError) as caught:
        config.require_file()
    assert caught.value.message == f"no rmapply.toml in {tmp_path}"


def test_problems_are_listed_with_lines_and_suggestions(tmp_path: Path) -> None:
    text = b"""\
[project]
itwinId = "x"

[defaults]
submitt = true

[apply]
parallelism = 0

[api]
endpoint = "ftp://example"
retryBudget = -1

[budgett]
maxCost = 1
"""
    with pytest.raises(ConfigError) as caught:
        parse_config(text, directory=tmp_path)
    assert caught.value.message == (
        "6 problems in rmapply.toml:\n"
        "rmapply.toml:2: project.itwinId: unknown key 'itwinId'; did you mean 'iTwinId'?\n"
        "rmapply.toml:5: defaults.submitt: unknown key 'submitt'; did you mean 'submit'?\n"
        "rmapply.toml:8: apply.parallelism: must be at least 1, got 0\n"
        "rmapply.toml:11: api.endpoint: 'ftp://example' is not an http(s) URL\n"
        "rmapply.toml:12: api.retryBudget: must be at least 0.0, got -1\n"
        "rmapply.toml:14: budgett: unknown key 'budgett'; did you mean 'budget'?"
    )


def test_bad_itwin_id_and_variable_name(tmp_path: Path) -> None:
    text = b'[project]\niTwinId = "not-a-guid"\n[vars]\n"bad-name" = 1\n'
    with pytest.raises(ConfigError) as caught:
        parse_config(text, directory=tmp_path)
    assert caught.value.message.splitlines()[1:] == [
        "rmapply.toml:2: project.iTwinId: 'not-a-guid' is not an iTwin id (a GUID like "
        "3fa85f64-5717-...)",
        "rmapply.toml:3: vars: 'bad-name' is not a variable name (use [A-Za-z_][A-Za-z0-9_]*)",
    ]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            b"[project\n",
            "rmapply.toml:1:9: invalid TOML: Expected ']' at the end of a table declaration",
        ),
        (b"a = \xff\n", "rmapply.toml:1: not valid UTF-8 text"),
        (
            b"[project]\nname = 'a'\n[api]\n[project]\n",
            "rmapply.toml:4:9: invalid TOML: defined twice (first at line 1)",
        ),
        (
            b"[defaults]\nsubmit = true\n\nsubmit = false\n",
            "rmapply.toml:4:15: invalid TOML: defined twice (first at line 2)",
        ),
        (b"[vars]\nx = " + b"[" * 2000 + b"]" * 2000 + b"\n", "rmapply.toml: nested too deeply"),
        (b"project = 1\n", "rmapply.toml:1: project: expected a table, got 1"),
        (
            b"[apply]\nparallelism = 'x'\n",
            "rmapply.toml:2: apply.parallelism: expected a whole number, got 'x'",
        ),
    ],
)
def test_malformed_config_is_a_config_error(tmp_path: Path, raw: bytes, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(raw, directory=tmp_path)
    assert caught.value.message.splitlines()[1] == message


def test_an_itwin_id_or_variable_name_with_a_trailing_newline_is_refused(tmp_path: Path) -> None:
    # `$` in a Python regex also matches before a final newline: checks must match the whole text
    text = b'[project]\niTwinId = "3fa85f64-5717-4562-b3fc-2c963f66afa6\\n"\n[vars]\n"ok\\n" = 1\n'
    with pytest.raises(ConfigError) as caught:
        parse_config(text, directory=tmp_path)
    assert len(caught.value.message.splitlines()[1:]) == 2


def test_an_unknown_state_backend_is_refused_at_its_line(tmp_path: Path) -> None:
    (tmp_path / "rmapply.toml").write_text('[state]\nbackend = "s3"\n')
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path)
    assert f"{tmp_path / 'rmapply.toml'}:2: state.backend: Input should be 'local'" in str(
        caught.value.message
    )
