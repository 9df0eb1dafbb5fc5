"""Ids in manifests are the API's ids (GUIDs): input ids, workspaceId, and a useCache literal."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from rmapply.manifests.ids import input_reference, is_guid
from rmapply.model import Address
from tests.manifests.conftest import load, problems
from tests.manifests.test_semantics import job

MakeDir = Callable[..., Path]
GUID = "58e0c0ca-f730-4e5b-808d-1c8cacacb4d4"
LIKE = "(a GUID like 3fa85f64-5717-4562-b3fc-2c963f66afa6)"


def test_an_input_id_that_is_not_a_guid_is_an_error_at_its_line_naming_the_field(
    make_dir: MakeDir,
) -> None:
    text = (
        "[jobs.a]\ntype = 'Full'\nname = 'A'\nworkspace = 'main'\n"
        f"inputs = [{{ id = '{GUID}' }}, {{ id = 'photos' }}]\n"
        "settings = { quality = 'Draft', outputs = ['OBJ'] }\n"
    )
    assert problems(make_dir({"a.toml": text})) == [
        f"a.toml:5:62: jobs.a.inputs[1].id: 'photos' is not a reality-data id {LIKE}"
    ]


def test_a_workspace_id_that_is_not_a_guid_is_an_error_that_points_at_workspace(
    make_dir: MakeDir,
) -> None:
    line = job("a", workspace="-", workspaceId="main")
    assert problems(make_dir({"a.yaml": "jobs:\n" + line})) == [
        f"a.yaml:2:{line.index('workspaceId') + 1}: jobs.a.workspaceId: 'main' is not a "
        f"workspace id {LIKE}; a workspace of the manifests is named with 'workspace = \"KEY\"'"
    ]


def test_use_cache_is_a_guid_or_a_job_address_and_a_guid_with_a_newline_is_neither(
    make_dir: MakeDir,
) -> None:
    settings = "{{quality: Draft, outputs: [OBJ], cacheSettings: {{useCache: {}}}}}"
    text = (
        "jobs:\n"
        + job("guid", settings=settings.format(GUID.upper()))
        + job("newline", settings=settings.format(f'"{GUID}\\n"'))
    )
    found = problems(make_dir({"a.yaml": text}))
    assert [p.split(": ", 1)[1] for p in found] == [
        f"jobs.newline.settings.cacheSettings.useCache: '{GUID}\\n' is neither a job address "
        "(jobs.KEY) nor a cache id (a GUID)"
    ]


def test_every_problem_of_one_job_is_reported_together(make_dir: MakeDir) -> None:
    line = job(
        "a",
        type="Ful",
        workspace="-",
        workspaceId="w",
        inputs="[{id: x}, {id: y}]",
        settings="{quality: Drat, outputs: [OBJ], cacheSettings: {useCache: old}}",
    )
    found = [p.split(": ", 1)[1] for p in problems(make_dir({"a.yaml": "jobs:\n" + line}))]
    assert sorted(p.split(":", 1)[0] for p in found) == [
        "jobs.a.inputs[0].id",
        "jobs.a.inputs[1].id",
        "jobs.a.settings.cacheSettings.useCache",
        "jobs.a.settings.quality",
        "jobs.a.type",
        "jobs.a.workspaceId",
    ]


def test_valid_ids_and_a_job_address_in_use_cache_load(make_dir: MakeDir) -> None:
    settings = "{{quality: Draft, outputs: [OBJ], cacheSettings: {{{}}}}}"
    text = (
        "jobs:\n"
        + job("maker", settings=settings.format("createCache: true"))
        + job("user", settings=settings.format("useCache: jobs.maker"))
    )
    desired = load(make_dir({"a.yaml": text})).desired
    assert desired.jobs[Address.job("user")].spec.cache_address == "jobs.maker"


@given(st.uuids(), st.booleans())
def test_any_guid_in_either_case_is_an_id(value: uuid.UUID, upper: bool) -> None:
    text = str(value).upper() if upper else str(value)
    assert is_guid(text)
    assert not is_guid(text + "\n") and not is_guid(text[:-1]) and not is_guid(f"{{{text}}}")


def test_an_input_reference_is_exactly_an_output_address() -> None:
    # the one place that recognises jobs.KEY.outputs.FORMAT (see rmapply/manifests/ids.py)
    assert input_reference("jobs.site-a.outputs.OBJ")
    assert input_reference("jobs.recon.outputs.Cesium 3D Tiles")
    assert input_reference("jobs.o.outputs.Orthophoto/DSM")
    for near_miss in (
        "jobs.site-a.output.OBJ",
        "jobs.site-a.outputs.",
        "jobs.Site-A.outputs.OBJ",
        "workspaces.main.outputs.OBJ",
        "jobs.site-a.outputs.OBJ\n",
        "jobs.site-a.outputs. OBJ",
        "jobs.site-a",
        "3fa85f64-5717-4562-b3fc-2c963f66afa6",
    ):
        assert not input_reference(near_miss), near_miss
