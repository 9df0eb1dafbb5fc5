"""Checks across fields and resources: references, outputs, engines, caches, dependencies."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from rmapply.model import Address
from tests.manifests.conftest import load, problems

MakeDir = Callable[..., Path]


def job(key: str, **fields: str) -> str:
    """A one-line YAML job with overridable flow-style fields."""
    body = {
        "type": "Full",
        "name": key,
        "workspace": "main",
        "inputs": "[{id: 58e0c0ca-f730-4e5b-808d-1c8cacacb4d4}]",
        "settings": "{quality: Draft, outputs: [OBJ]}",
    }
    body.update(fields)
    items = ", ".join(f"{k}: {v}" for k, v in body.items() if v != "-")
    return f"  {key}: {{{items}}}\n"


def col(line: str, token: str) -> int:
    """The 1-based column of ``token`` in ``line``."""
    return line.index(token) + 1


def test_workspace_reference_must_resolve(make_dir: MakeDir) -> None:
    line = job("a", workspace="mian")
    assert problems(make_dir({"a.yaml": "jobs:\n" + line})) == [
        f"a.yaml:2:{col(line, 'workspace')}: jobs.a.workspace: 'mian' is not a workspace in "
        "the manifests; did you mean "
        "'main'?"
    ]


def test_workspace_and_workspace_id_are_exclusive_and_one_is_needed(make_dir: MakeDir) -> None:
    text = (
        "jobs:\n"
        + job("a", workspaceId="6881117d-9fd2-4900-870b-9b721dc90f25")
        + job("b", workspace="-")
    )
    assert problems(make_dir({"a.yaml": text})) == [
        f"a.yaml:2:{col(text.splitlines()[1], 'workspaceId')}: jobs.a.workspaceId: set "
        "'workspace' (a workspace key in the manifests) or "
        "'workspaceId' (an id), not both",
        "a.yaml:3: jobs.b: needs 'workspace' (a workspace key in the manifests) or 'workspaceId'",
    ]


def test_outputs_must_be_present_and_unique_and_engines_not_negative(make_dir: MakeDir) -> None:
    a = job("a", settings="{quality: Draft, outputs: []}")
    b = job("b", settings="{quality: Draft, processingEngines: -1, outputs: [OBJ, LAS, OBJ]}")
    text = "jobs:\n" + a + b
    assert problems(make_dir({"a.yaml": text})) == [
        f"a.yaml:2:{col(a, 'outputs')}: jobs.a.settings.outputs: needs at least one output format",
        f"a.yaml:3:{col(b, 'processingEngines')}: jobs.b.settings.processingEngines: must be 0 "
        "(use your engine limit) or more, got -1",
        f"a.yaml:3:{col(b, 'OBJ]')}: jobs.b.settings.outputs[2]: 'OBJ' is listed twice "
        "(also outputs[0])",
    ]


def test_inputs_must_not_be_empty(make_dir: MakeDir) -> None:
    line = job("a", inputs="[]")
    assert problems(make_dir({"a.yaml": "jobs:\n" + line})) == [
        f"a.yaml:2:{col(line, 'inputs')}: jobs.a.inputs: needs at least one input "
        "(a reality-data id)"
    ]


def test_use_cache_names_a_job_that_creates_a_cache_or_a_guid(make_dir: MakeDir) -> None:
    settings = "{{quality: Draft, outputs: [OBJ], cacheSettings: {{{0}}}}}"
    text = (
        "jobs:\n"
        + job("maker", settings=settings.format("createCache: true"))
        + job("plain")
        + job("ok", settings=settings.format("useCache: jobs.maker"))
        + job("literal", settings=settings.format("useCache: 799b11bd-71cf-481a-b284-bf48f672cd9a"))
        + job("nocache", settings=settings.format("useCache: jobs.plain"))
        + job("missing", settings=settings.format("useCache: jobs.makr"))
        + job("self", settings=settings.format("useCache: jobs.self"))
        + job("junk", settings=settings.format("useCache: yesterday"))
    )
    found = problems(make_dir({"a.yaml": text}))
    assert [line.split(": ", 2)[1:] for line in found] == [
        [
            "jobs.nocache.settings.cacheSettings.useCache",
            "'jobs.plain' does not create a cache (set its cacheSettings.createCache)",
        ],
        [
            "jobs.missing.settings.cacheSettings.useCache",
            "'jobs.makr' is not a job in the manifests; did you mean 'jobs.maker'?",
        ],
        ["jobs.self.settings.cacheSettings.useCache", "a job cannot reuse its own cache"],
        [
            "jobs.junk.settings.cacheSettings.useCache",
            "'yesterday' is neither a job address (jobs.KEY) nor a cache id (a GUID)",
        ],
    ]


def test_cache_address_resolves_to_the_cache_id_in_the_creation_body(make_dir: MakeDir) -> None:
    settings = "{{quality: Draft, outputs: [OBJ], cacheSettings: {{{0}}}}}"
    text = (
        "jobs:\n"
        + job("maker", settings=settings.format("createCache: true"))
        + job("user", settings=settings.format("useCache: jobs.maker"))
    )
    spec = load(make_dir({"a.yaml": text})).desired.jobs[Address.job("user")].spec
    assert spec.cache_address == "jobs.maker"
    body = spec.to_creation("ws-1", cache_id="job-id-of-maker").to_wire()
    assert body["settings"]["cacheSettings"] == {"useCache": "job-id-of-maker"}


def test_depends_on_addresses_exist_and_have_no_cycles(make_dir: MakeDir) -> None:
    text = (
        "jobs:\n"
        + job("a", dependsOn="[jobs.b, workspaces.main]")
        + job("b", dependsOn="[jobs.c]")
        + job("c", dependsOn="[jobs.a]")
        + job("d", dependsOn="[jobs.dd, job.x, jobs.d]")
    )
    found = problems(make_dir({"a.yaml": text}))
    assert [line.split(": ", 1)[1] for line in found] == [
        "jobs.a.dependsOn: dependency cycle: jobs.a -> jobs.b -> jobs.c -> jobs.a",
        "jobs.d.dependsOn[0]: 'jobs.dd' is not in the manifests; did you mean 'jobs.d'?",
        "jobs.d.dependsOn[1]: invalid address 'job.x': kind must be 'jobs' or 'workspaces'",
        "jobs.d.dependsOn[2]: a job cannot depend on itself",
    ]


def test_same_job_name_in_one_workspace_is_a_warning_only(make_dir: MakeDir) -> None:
    text = "jobs:\n" + job("a", name="Same") + job("b", name="Same") + job("c", name="Other")
    result = load(make_dir({"a.yaml": text}))
    assert [w.render() for w in result.warnings] == [
        f"a.yaml:3:{col(text.splitlines()[2], 'name')}: warning: jobs.b.name: job name "
        "'Same' is also used by jobs.a in "
        "workspaces.main"
    ]
    assert len(result.desired.jobs) == 3


def test_warnings_are_listed_with_errors_when_the_load_fails(make_dir: MakeDir) -> None:
    text = "jobs:\n" + job("a", name="Same") + job("b", name="Same", type="Ful")
    text += job("c", name="Same")
    assert [line.split(": ", 1)[1] for line in problems(make_dir({"a.yaml": text}))] == [
        "jobs.b.type: 'Ful' is not a job type; did you mean 'Full'?",
        "warning: jobs.c.name: job name 'Same' is also used by jobs.a in workspaces.main",
    ]
