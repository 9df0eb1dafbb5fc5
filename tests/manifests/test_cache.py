"""The parse cache: an unchanged directory loads from it; any input change misses it."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from rmapply.manifests import cache as cache_module
from rmapply.manifests.cache import CACHE_DIR
from rmapply.model import Address
from tests.manifests.conftest import JOB_YAML, load, problems

MakeDir = Callable[..., Path]

TEMPLATE = JOB_YAML.replace(
    "name: Site A", "name: {{ prefix }}{% include '_suffix.j2' %}{{ env('TAG', '') }}"
)


def entries(directory: Path) -> list[Path]:
    return sorted((directory / CACHE_DIR).glob("*.json"))


def name_of(directory: Path, **kwargs: object) -> str:
    result = load(directory, use_cache=True, **kwargs)
    return result.desired.jobs[Address.job("site-a")].spec.name


def test_warm_load_equals_cold_load(make_dir: MakeDir) -> None:
    directory = make_dir(
        {"a.yaml.j2": TEMPLATE, "_suffix.j2": "-s", "b.toml": "[workspaces.w]\nname = 'w'\n"}
    )
    cold = load(directory, use_cache=True, cli_vars={"prefix": "p"})
    assert len(entries(directory)) == 3
    warm = load(directory, use_cache=True, cli_vars={"prefix": "p"})
    assert warm.desired == cold.desired
    assert (warm.manifest_digest, warm.vars_digest) == (cold.manifest_digest, cold.vars_digest)
    assert (
        warm.desired.jobs[Address.job("site-a")].source
        == cold.desired.jobs[Address.job("site-a")].source
    )


def test_changed_variable_partial_or_environment_is_a_miss(make_dir: MakeDir) -> None:
    directory = make_dir({"a.yaml.j2": TEMPLATE, "_suffix.j2": "-s"})
    assert name_of(directory, cli_vars={"prefix": "p"}) == "p-s"
    assert name_of(directory, cli_vars={"prefix": "q"}) == "q-s"
    (directory / "_suffix.j2").write_text("-t")
    assert name_of(directory, cli_vars={"prefix": "q"}) == "q-t"
    assert name_of(directory, cli_vars={"prefix": "q"}, environ={"TAG": "!"}) == "q-t!"


def test_cached_file_with_a_semantic_error_still_points_at_the_field(make_dir: MakeDir) -> None:
    directory = make_dir({"a.yaml": JOB_YAML.replace("workspace: main", "workspace: other")})
    expected = ["a.yaml:5:5: jobs.site-a.workspace: 'other' is not a workspace in the manifests"]
    assert problems(directory, use_cache=True) == expected
    assert len(entries(directory)) == 2  # the file parsed, so it was cached
    assert problems(directory, use_cache=True) == expected


def test_corrupt_or_foreign_entries_are_ignored(make_dir: MakeDir) -> None:
    directory = make_dir({"a.yaml": JOB_YAML})
    load(directory, use_cache=True)
    for entry in entries(directory):
        entry.write_text("{ not json")
    assert name_of(directory) == "Site A"
    for entry in entries(directory):
        data = json.loads(entry.read_text())
        data["documents"] = []
        data["key"] = "0" * 64
        entry.write_text(json.dumps(data))
    assert name_of(directory) == "Site A"


def test_entries_of_removed_files_are_pruned_and_no_cache_writes_nothing(make_dir: MakeDir) -> None:
    directory = make_dir({"a.yaml": JOB_YAML})
    load(directory, use_cache=True)
    (directory / "a.yaml").unlink()
    load(directory, use_cache=True)
    assert len(entries(directory)) == 1
    other = make_dir({"a.yaml": JOB_YAML})
    load(other, use_cache=False)
    assert not (other / CACHE_DIR).exists()


def test_a_partial_created_after_the_cache_was_written_is_a_miss(make_dir: MakeDir) -> None:
    text = JOB_YAML.replace(
        "name: Site A", "name: Site{% include ['_extra.j2', '_none.j2'] ignore missing +%}"
    )
    directory = make_dir({"a.yaml.j2": text})
    assert name_of(directory) == "Site"
    (directory / "_none.j2").write_text(" second")
    assert name_of(directory) == "Site second"
    (directory / "_extra.j2").write_text(" first")
    assert name_of(directory) == "Site first"
    (directory / "_extra.j2").unlink()
    assert name_of(directory) == "Site second"


def test_changed_file_environment_value_or_unset_variable_is_a_miss(make_dir: MakeDir) -> None:
    directory = make_dir({"a.yaml.j2": TEMPLATE, "_suffix.j2": ""})
    assert name_of(directory, cli_vars={"prefix": "p"}, environ={"TAG": "1"}) == "p1"
    assert name_of(directory, cli_vars={"prefix": "p"}, environ={"TAG": "2"}) == "p2"
    assert name_of(directory, cli_vars={"prefix": "p"}) == "p"
    (directory / "a.yaml.j2").write_text(TEMPLATE.replace("{{ prefix }}", "{{ prefix }}!"))
    assert name_of(directory, cli_vars={"prefix": "p"}) == "p!"


def test_another_rmapply_version_does_not_use_the_entries(
    make_dir: MakeDir, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = make_dir({"a.yaml": JOB_YAML})
    load(directory, use_cache=True)
    before = {path.name: path.read_text() for path in entries(directory)}
    monkeypatch.setattr(cache_module, "__version__", "999.0")
    load(directory, use_cache=True)
    after = {path.name: path.read_text() for path in entries(directory)}
    assert before.keys() == after.keys()
    assert all(json.loads(before[n])["key"] != json.loads(after[n])["key"] for n in before)


def test_order_and_types_of_variables_are_part_of_the_key(make_dir: MakeDir) -> None:
    text = JOB_YAML.replace(
        "name: Site A", "name: {% for k in sites %}{{ k }}{% endfor %}-{{ n is string }}"
    )
    directory = make_dir({"a.yaml.j2": text})
    assert name_of(directory, cli_vars={"sites": '{"a": 1, "b": 2}', "n": "1"}) == "ab-False"
    assert name_of(directory, cli_vars={"sites": '{"b": 2, "a": 1}', "n": "1"}) == "ba-False"
    assert name_of(directory, cli_vars={"sites": '{"b": 2, "a": 1}', "n": '"1"'}) == "ba-True"


def test_dates_in_variables_are_not_their_text(make_dir: MakeDir) -> None:
    text = JOB_YAML.replace("name: Site A", "name: x{{ day is string }}")
    directory = make_dir({"a.yaml.j2": text, "vars/default.yaml": "day: 2024-01-01\n"})
    assert name_of(directory) == "xFalse"
    (directory / "vars/default.yaml").write_text("day: '2024-01-01'\n")
    assert name_of(directory) == "xTrue"


@pytest.mark.parametrize(
    "damage",
    [
        {"documents": "not a list"},
        {"documents": [{"data": {}, "index": 0}]},
        {"origins": [["jobs"]]},
        {"templates": ["a"]},
        {"env": None},
    ],
)
def test_an_entry_of_the_wrong_shape_is_ignored(make_dir: MakeDir, damage: dict[str, Any]) -> None:
    directory = make_dir({"a.yaml.j2": TEMPLATE, "_suffix.j2": "-s"})
    name_of(directory, cli_vars={"prefix": "p"})
    for entry in entries(directory):
        entry.write_text(json.dumps({**json.loads(entry.read_text()), **damage}))
    assert name_of(directory, cli_vars={"prefix": "p"}) == "p-s"


def test_a_cache_folder_that_cannot_be_written_is_not_fatal(make_dir: MakeDir) -> None:
    directory = make_dir({"a.yaml": JOB_YAML})
    (directory / ".rmapply").write_text("a file where the folder would go")
    assert name_of(directory) == "Site A"
    assert name_of(directory) == "Site A"
    assert (directory / ".rmapply").read_text() == "a file where the folder would go"


def test_the_cache_key_names_the_versions_the_libraries_metadata_gives() -> None:
    import importlib.metadata

    found = cache_module._versions()
    assert f"jinja2=={importlib.metadata.version('Jinja2')}" in found
    assert f"yaml=={importlib.metadata.version('PyYAML')}" in found
    assert cache_module._installed_version("no-such-distribution-rmapply") is None
