"""Properties: TOML and YAML give the same resource; junk only ever raises rmapply's errors."""

from __future__ import annotations

import contextlib
import json
import math
import tempfile
import tomllib
from pathlib import Path
from typing import Any

import pytest
import tomli_w
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from rmapply.errors import ConfigError, ManifestError
from rmapply.manifests.document import FORMATS, dump, to_document
from rmapply.manifests.quoting import QuotingError, to_json, to_toml, to_yaml
from rmapply.model import Address
from rmapply.wire import JobType, OutputFormat, Quality
from tests.manifests.conftest import CONFIG, WORKSPACE, load, write_tree

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Any text but surrogates; Jinja markup would be rendered (a literal "{{" needs {% raw %}).
# YAML is written by rmapply's own dumper (``render --format yaml``): PyYAML's safe_dump with
# allow_unicode writes NEL, LS and PS raw in single quotes, where its reader folds them.
text = st.text(
    st.one_of(st.characters(exclude_categories=("Cs",)), st.sampled_from(list("\x85\u2028\x7f"))),
    max_size=30,
).filter(lambda s: not any(m in s for m in ("{{", "{%", "{#")))
# ids are the API's GUIDs, in either case
guids = st.uuids().map(str) | st.uuids().map(lambda u: str(u).upper())
numbers = st.floats(allow_nan=False, allow_infinity=False, min_value=0, max_value=1e9)


def optional(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), strategy)


@st.composite
def jobs(draw: st.DrawFn) -> dict[str, Any]:
    """A valid job body as a user would write it (optional fields sometimes left out)."""
    job: dict[str, Any] = {
        "type": draw(st.sampled_from([t.value for t in JobType])),
        "name": draw(text),
        "workspace": "main",
        "inputs": [
            {k: v for k, v in {"id": i, "description": d}.items() if v is not None}
            for i, d in draw(st.lists(st.tuples(guids, optional(text)), min_size=1, max_size=3))
        ],
        "settings": {
            "quality": draw(st.sampled_from([q.value for q in Quality])),
            "outputs": draw(
                st.lists(
                    st.sampled_from([o.value for o in OutputFormat]),
                    min_size=1,
                    max_size=4,
                    unique=True,
                )
            ),
        },
    }
    engines = draw(optional(st.integers(min_value=0, max_value=1000)))
    if engines is not None:
        job["settings"]["processingEngines"] = engines
    if draw(st.booleans()):
        job["settings"]["cacheSettings"] = {"createCache": draw(st.booleans())}
    if draw(st.booleans()):
        params = {
            "gigaPixels": draw(numbers),
            "megaPoints": draw(numbers),
            "meshQuality": draw(st.sampled_from([q.value for q in Quality])),
        }
        job["costEstimationParameters"] = {k: v for k, v in params.items() if draw(st.booleans())}
    for field, strategy in (("submit", st.booleans()), ("retryFailed", st.booleans())):
        value = draw(optional(strategy))
        if value is not None:
            job[field] = value
    return job


def load_one(name: str, content: str) -> Any:
    with tempfile.TemporaryDirectory() as folder:
        directory = write_tree(Path(folder), {name: content})
        return load(directory).desired.jobs[Address.job("k")]


@SETTINGS
@given(jobs())
def test_a_job_written_as_toml_or_yaml_is_the_same_resource(job: dict[str, Any]) -> None:
    document = {"jobs": {"k": job}}
    from_toml = load_one("a.toml", tomli_w.dumps(document))
    from_yaml = load_one("a.yaml", dump(document, "yaml"))
    assert from_toml.spec == from_yaml.spec
    assert from_toml.spec.to_wire() == from_yaml.spec.to_wire()


def check_only_rmapply_errors(name: str, content: str | bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        files: dict[str, str | bytes | None] = {name: content}
        directory = write_tree(Path(folder), files)
        with contextlib.suppress(ManifestError, ConfigError):
            load(directory, use_cache=True)


@SETTINGS
@given(
    st.sampled_from(
        ["a.toml", "a.yaml", "a.yaml.j2", "a.toml.j2", "rmapply.toml", "vars/default.yaml"]
    ),
    st.binary(max_size=2000),
)
def test_junk_bytes_only_raise_rmapply_errors(name: str, content: bytes) -> None:
    check_only_rmapply_errors(name, content)


structural = st.text(st.sampled_from(list("[]{}()\"'#=:-,.&*!|>%?@` \t\nabjosk1{}")), max_size=300)


@SETTINGS
@given(
    st.sampled_from(["a.toml", "a.yaml", "a.yaml.j2", "rmapply.toml"]),
    st.one_of(st.text(max_size=500), structural),
)
def test_junk_text_only_raises_rmapply_errors(name: str, content: str) -> None:
    check_only_rmapply_errors(name, content.encode("utf-8", "surrogatepass"))


# What YAML and TOML treat specially: quotes, escapes, line breaks of every kind, controls.
SPECIAL = "\"'\\\n\r\t\x00\x07\x1b\x7f\x85\xa0\u2028\u2029\ufeff\ufffe#:-[]{},&*!|>%@`"
any_text = st.text(
    st.one_of(st.characters(exclude_categories=("Cs",)), st.sampled_from(list(SPECIAL)))
)
values = st.recursive(
    st.one_of(
        st.booleans(),
        st.integers(min_value=-(2**63), max_value=2**63 - 1),
        st.floats(allow_nan=False),
        any_text,
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(
            st.text(st.characters(exclude_categories=("Cs",)), max_size=5), inner, max_size=3
        ),
    ),
    max_leaves=8,
)


def same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isinf(a) and a == b)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


@settings(max_examples=150, deadline=None)
@given(values)
@example({"0\n": False})  # a key with a trailing newline must be quoted, not written bare
def test_quoting_filters_round_trip_any_value(value: Any) -> None:
    assert same(yaml.safe_load("v: " + to_yaml(value))["v"], value)
    assert same(tomllib.loads("v = " + to_toml(value))["v"], value)
    try:
        written = to_json(value)
    except QuotingError:  # JSON has no infinity
        assert "inf" in repr(value)
        return
    assert same(json.loads(written), value)
    assert same(yaml.safe_load("v: " + written)["v"], value)
    if not isinstance(value, dict | list):  # TOML arrays and tables differ from JSON's
        assert same(tomllib.loads("v = " + written)["v"], value)


def test_configuration_defaults_are_plain_files() -> None:
    assert CONFIG.startswith("[project]") and WORKSPACE.startswith("[workspaces.main]")


@st.composite
def pipelines(draw: st.DrawFn) -> dict[str, dict[str, Any]]:
    """Jobs keyed by address key; a job may take an earlier job's output as an input, written
    as ``jobs.KEY.outputs.FORMAT`` (references point backwards, so there is no cycle)."""
    keys = st.from_regex(r"[a-z][a-z0-9-]{0,6}", fullmatch=True)
    bodies = draw(st.dictionaries(keys, jobs(), max_size=3))
    earlier: list[str] = []
    for key, body in bodies.items():
        if earlier and draw(st.booleans()):
            source = draw(st.sampled_from(earlier))
            output = draw(st.sampled_from(bodies[source]["settings"]["outputs"]))
            reference = {"id": f"jobs.{source}.outputs.{output}"}
            position = draw(st.integers(min_value=0, max_value=len(body["inputs"])))
            body["inputs"].insert(position, reference)
        earlier.append(key)
    return bodies


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pipelines())
def test_rendered_output_loads_back_to_the_same_desired_state(
    bodies: dict[str, dict[str, Any]],
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        directory = write_tree(Path(folder) / "src", {"a.yaml": yaml.safe_dump({"jobs": bodies})})
        original = load(directory).desired
        for fmt in FORMATS:
            text = dump(to_document(original), fmt)
            again_dir = write_tree(
                Path(folder) / fmt,
                {"workspaces.toml": None, f"all.{'toml' if fmt == 'toml' else 'yaml'}": text},
            )
            again = load(again_dir).desired
            assert again.workspaces.keys() == original.workspaces.keys()
            assert {a: w.spec for a, w in again.workspaces.items()} == {
                a: w.spec for a, w in original.workspaces.items()
            }
            assert {a: j.spec for a, j in again.jobs.items()} == {
                a: j.spec for a, j in original.jobs.items()
            }
            assert {a: j.spec.output_refs for a, j in again.jobs.items()} == {
                a: j.spec.output_refs for a, j in original.jobs.items()
            }


def test_an_address_key_with_a_trailing_newline_is_refused() -> None:
    from rmapply.model.address import Address

    with pytest.raises(ValueError, match="invalid resource key"):
        Address.parse("jobs.site-a\n")
