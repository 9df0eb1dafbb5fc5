"""The parse cache: an unchanged directory loads from it; any input change misses it."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

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
