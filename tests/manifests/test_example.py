"""The shipped manifests/ example: it validates and holds what the quick start promises."""

from __future__ import annotations

from rmapply.manifests import load_manifests
from rmapply.model import Address
from tests.reference import REPO

EXAMPLE = REPO / "manifests"


def test_example_validates_without_flags() -> None:
    result = load_manifests(EXAMPLE, environ={}, use_cache=False)
    assert result.warnings == []
    assert result.config.itwin_id == "3fa85f64-5717-4562-b3fc-2c963f66afa6"
    assert [str(a) for a in result.desired.workspaces] == ["workspaces.main"]
    assert [str(a) for a in result.desired.jobs] == [
        "jobs.bridge-north",
        "jobs.bridge-south",
        "jobs.calib",
        "jobs.recon",
        "jobs.site-a",
        "jobs.viaduct-east",
    ]
    assert result.variables.files == ("vars/default.yaml",)


def test_example_jobs_carry_cost_parameters_and_one_cache() -> None:
    jobs = load_manifests(EXAMPLE, environ={}, use_cache=False).desired.jobs
    assert all(j.spec.cost_estimation_parameters is not None for j in jobs.values())
    single = {Address.job("calib"), Address.job("recon")}  # the pipeline's two stages
    assert all(len(j.spec.settings.outputs) >= 2 for a, j in jobs.items() if a not in single)
    north = jobs[Address.job("bridge-north")].spec.settings.cache_settings
    assert north is not None and north.create_cache is True
    assert jobs[Address.job("site-a")].spec.depends_on == ["jobs.bridge-north"]
    assert str(jobs[Address.job("site-a")].source) == "jobs/site-a.toml:2"


def test_prod_var_file_overrides_defaults() -> None:
    result = load_manifests(EXAMPLE, var_files=["vars/prod.yaml"], environ={}, use_cache=False)
    spec = result.desired.jobs[Address.job("bridge-south")].spec
    assert (spec.settings.quality.value, spec.settings.processing_engines) == ("Extra", 8)
    assert result.variables.origins["quality"] == "vars/prod.yaml"
