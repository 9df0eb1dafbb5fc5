"""Inputs written as another job's output (``jobs.KEY.outputs.FORMAT``): loaded as typed
references, validated at file:line, dependencies of the job, never sent as ids."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from rmapply.model import Address, OutputRef
from tests.manifests.conftest import load, problems

MakeDir = Callable[..., Path]
PHOTOS = "58e0c0ca-f730-4e5b-808d-1c8cacacb4d4"
ORIENTATIONS_ID = "0f6b5bd2-77b5-4a7e-9a52-2f1c7d0c9e11"
WORKSPACE_ID = "6881117d-9fd2-4900-870b-9b721dc90f25"

PIPELINE_TOML = f"""\
[jobs.calib]
type = "Calibration"
name = "calib"
workspace = "main"
inputs = [{{ id = "{PHOTOS}" }}]
settings = {{ quality = "Medium", outputs = ["CCOrientations"] }}

[jobs.recon]
type = "Reconstruction"
name = "recon"
workspace = "main"
inputs = [{{ id = "{PHOTOS}" }}, {{ id = "jobs.calib.outputs.CCOrientations" }}]
settings = {{ quality = "Medium", outputs = ["Cesium 3D Tiles"] }}
"""

PIPELINE_YAML = f"""\
jobs:
  calib:
    type: Calibration
    name: calib
    workspace: main
    inputs:
      - id: {PHOTOS}
    settings: {{quality: Medium, outputs: [CCOrientations]}}
  recon:
    type: Reconstruction
    name: recon
    workspace: main
    inputs:
      - id: {PHOTOS}
      - id: jobs.calib.outputs.CCOrientations
    settings: {{quality: Medium, outputs: [Cesium 3D Tiles]}}
"""


def recon(reference: str, outputs: str = "[CCOrientations]") -> str:
    """A YAML pipeline whose second job's second input is ``reference``."""
    return (
        "jobs:\n"
        f"  calib: {{type: Calibration, name: calib, workspace: main, inputs: [{{id: {PHOTOS}}}],"
        f" settings: {{quality: Draft, outputs: {outputs}}}}}\n"
        f"  recon: {{type: Reconstruction, name: recon, workspace: main,"
        f" inputs: [{{id: {PHOTOS}}}, {{id: '{reference}'}}],"
        " settings: {quality: Draft, outputs: [OBJ]}}\n"
    )


@pytest.mark.parametrize("name,text", [("a.toml", PIPELINE_TOML), ("a.yaml", PIPELINE_YAML)])
def test_an_input_may_name_another_jobs_output_in_toml_and_yaml(
    make_dir: MakeDir, name: str, text: str
) -> None:
    desired = load(make_dir({name: text})).desired
    job = desired.jobs[Address.job("recon")]
    assert job.spec.output_refs == {1: OutputRef(Address.job("calib"), "CCOrientations")}
    assert str(job.spec.output_refs[1]) == "jobs.calib.outputs.CCOrientations"
    assert Address.job("calib") in job.dependencies()
    assert desired.jobs[Address.job("calib")].spec.output_refs == {}


def test_a_reference_is_written_as_is_and_resolved_only_with_its_id(make_dir: MakeDir) -> None:
    spec = load(make_dir({"a.toml": PIPELINE_TOML})).desired.jobs[Address.job("recon")].spec
    assert spec.inputs[1].id == "jobs.calib.outputs.CCOrientations"
    with pytest.raises(ValueError, match=r"jobs\.calib\.outputs\.CCOrientations needs the id"):
        spec.to_creation(WORKSPACE_ID)
    ref = OutputRef(Address.job("calib"), "CCOrientations")
    body = spec.to_creation(WORKSPACE_ID, output_ids={ref: ORIENTATIONS_ID})
    assert [i.id for i in body.inputs] == [PHOTOS, ORIENTATIONS_ID]


def test_a_reference_to_a_missing_job_suggests_the_nearest_key(make_dir: MakeDir) -> None:
    text = recon("jobs.calb.outputs.CCOrientations")
    column = text.splitlines()[2].index("id: 'jobs.calb") + 1
    assert problems(make_dir({"a.yaml": text})) == [
        f"a.yaml:3:{column}: jobs.recon.inputs[1].id: 'jobs.calb.outputs.CCOrientations': "
        "jobs.calb is not in the manifests; did you mean 'jobs.calib.outputs.CCOrientations'?"
    ]


def test_a_reference_to_an_output_the_job_does_not_list_is_refused(make_dir: MakeDir) -> None:
    found = problems(make_dir({"a.yaml": recon("jobs.calib.outputs.OBJ")}))
    assert [line.split(": ", 1)[1] for line in found] == [
        "jobs.recon.inputs[1].id: 'jobs.calib.outputs.OBJ': jobs.calib does not list 'OBJ' "
        "in its settings.outputs (jobs.calib outputs: CCOrientations)"
    ]


def test_a_misspelt_output_format_gets_a_did_you_mean(make_dir: MakeDir) -> None:
    found = problems(make_dir({"a.yaml": recon("jobs.calib.outputs.CCOrientation")}))
    assert [line.split(": ", 1)[1] for line in found] == [
        "jobs.recon.inputs[1].id: 'jobs.calib.outputs.CCOrientation': 'CCOrientation' is not "
        "an output format (jobs.calib outputs: CCOrientations); did you mean "
        "'jobs.calib.outputs.CCOrientations'?"
    ]


def test_a_job_cannot_take_its_own_output(make_dir: MakeDir) -> None:
    found = problems(make_dir({"a.yaml": recon("jobs.recon.outputs.OBJ")}))
    assert [line.split(": ", 1)[1] for line in found] == [
        "jobs.recon.inputs[1].id: a job cannot take its own output as an input"
    ]


def test_a_malformed_reference_shows_the_reference_shape(make_dir: MakeDir) -> None:
    found = problems(make_dir({"a.yaml": recon("jobs.calib.output.CCOrientations")}))
    assert [line.split(": ", 1)[1] for line in found] == [
        "jobs.recon.inputs[1].id: 'jobs.calib.output.CCOrientations' is not a reality-data id "
        "(a GUID like 3fa85f64-5717-4562-b3fc-2c963f66afa6) nor an output reference "
        "(jobs.KEY.outputs.FORMAT)"
    ]


def test_references_count_in_the_cycle_check(make_dir: MakeDir) -> None:
    text = (
        "jobs:\n"
        f"  a: {{type: Reconstruction, name: a, workspace: main, inputs: [{{id: {PHOTOS}}},"
        " {id: jobs.b.outputs.OBJ}], settings: {quality: Draft, outputs: [OBJ]}}\n"
        f"  b: {{type: Reconstruction, name: b, workspace: main, inputs: [{{id: {PHOTOS}}}],"
        " dependsOn: [jobs.a], settings: {quality: Draft, outputs: [OBJ]}}\n"
    )
    found = problems(make_dir({"a.yaml": text}))
    assert [line.split(": ", 1)[1] for line in found] == [
        "jobs.a.inputs[1].id: dependency cycle: jobs.a -> jobs.b -> jobs.a"
    ]


def test_a_cycle_through_references_only_is_reported_at_the_reference_that_closes_it(
    make_dir: MakeDir,
) -> None:
    text = PIPELINE_TOML.replace(
        f'inputs = [{{ id = "{PHOTOS}" }}]\n',
        f'inputs = [{{ id = "{PHOTOS}" }}, {{ id = "jobs.recon.outputs.Cesium 3D Tiles" }}]\n',
        1,
    )
    assert problems(make_dir({"a.toml": text})) == [
        "a.toml:5:62: jobs.calib.inputs[1].id: dependency cycle: jobs.calib -> jobs.recon -> "
        "jobs.calib"
    ]


def test_a_misspelt_key_and_format_get_one_did_you_mean_fixing_both(make_dir: MakeDir) -> None:
    found = problems(make_dir({"a.yaml": recon("jobs.calb.outputs.CCOrientation")}))
    assert [line.split(": ", 1)[1] for line in found] == [
        "jobs.recon.inputs[1].id: 'jobs.calb.outputs.CCOrientation': jobs.calb is not in the "
        "manifests; did you mean 'jobs.calib.outputs.CCOrientations'?"
    ]
