"""The pipeline of the shipped manifests/ example: Calibration -> Reconstruction by output
reference."""

from __future__ import annotations

from rmapply.manifests import load_manifests
from rmapply.model import Address, OutputRef
from rmapply.wire import JobType, OutputFormat
from tests.reference import REPO

EXAMPLE = REPO / "manifests"


def test_pipeline_example_validates_with_a_calibration_feeding_a_reconstruction() -> None:
    result = load_manifests(EXAMPLE, environ={}, use_cache=False)
    assert result.warnings == []
    jobs = result.desired.jobs
    calib = jobs[Address.job("calib")].spec
    recon = jobs[Address.job("recon")]
    assert calib.type is JobType.CALIBRATION
    assert calib.settings.outputs == [OutputFormat.CC_ORIENTATIONS]
    assert recon.spec.type is JobType.RECONSTRUCTION
    assert recon.spec.settings.outputs == [OutputFormat.CESIUM_3D_TILES]
    assert recon.spec.output_refs == {1: OutputRef(Address.job("calib"), "CCOrientations")}
    assert recon.spec.inputs[0].id == calib.inputs[0].id  # the same photos
    assert Address.job("calib") in recon.dependencies()
    assert str(recon.source) == "jobs/quarry.toml:23"
