"""Pipeline chains against ``rmapply serve``: calib -> recon (the photos plus calib's
orientations) -> mesh (reusing recon's cache), written as manifests and checked on the service."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import requests

from tests.e2e.apply_runs import TOKEN

STAGES = ("calib", "recon", "mesh")


def stage_name(stage: str, n: int) -> str:
    """The job name of ``stage`` of chain ``n`` (the service's jobs are told apart by name)."""
    return f"Chain {n} {stage}"


def add_chain(
    root: Path,
    n: int,
    *,
    calib_pixels: float = 0.0,
    fail: str | None = None,
    name_extra: str = "",
) -> None:
    """Write chain ``n`` into ``root/jobs/chain-N.toml``: ``calib_pixels`` gigapixels make
    calib run 60 + 30 per gigapixel simulated seconds; ``fail`` names the stage that fails (its
    name holds the emulator's ``[fail]`` marker); ``name_extra`` is added to every name."""
    photos = uuid.uuid5(uuid.NAMESPACE_URL, f"chain-photos-{n}")

    def name(stage: str) -> str:
        marker = " [fail]" if stage == fail else ""
        return stage_name(stage, n) + name_extra + marker

    (root / "jobs" / f"chain-{n}.toml").write_text(
        f'[jobs.calib{n}]\ntype = "Calibration"\nname = "{name("calib")}"\nworkspace = "main"\n'
        f'inputs = [{{ id = "{photos}", description = "photos" }}]\n'
        f"costEstimationParameters = {{ gigaPixels = {calib_pixels} }}\n"
        f'[jobs.calib{n}.settings]\nquality = "Draft"\noutputs = ["CCOrientations"]\n\n'
        f'[jobs.recon{n}]\ntype = "Reconstruction"\nname = "{name("recon")}"\nworkspace = "main"\n'
        f'inputs = [{{ id = "{photos}" }}, {{ id = "jobs.calib{n}.outputs.CCOrientations" }}]\n'
        f'[jobs.recon{n}.settings]\nquality = "Draft"\noutputs = ["OBJ"]\n'
        "cacheSettings = { createCache = true }\n\n"
        f'[jobs.mesh{n}]\ntype = "Reconstruction"\nname = "{name("mesh")}"\nworkspace = "main"\n'
        f'inputs = [{{ id = "{photos}" }}]\n'
        f'[jobs.mesh{n}.settings]\nquality = "Draft"\noutputs = ["Cesium 3D Tiles"]\n'
        f'cacheSettings = {{ useCache = "jobs.recon{n}" }}\n',
        encoding="utf-8",
    )


def service_jobs(base_url: str, itwin_id: str) -> list[dict[str, Any]]:
    """Every job of ``itwin_id`` as ``GET /jobs`` lists it (the raw JSON, every page)."""
    headers = {"Authorization": f"Bearer {TOKEN}"}
    url: str | None = f"{base_url}/jobs"
    params: dict[str, str] | None = {"$filter": f"iTwinId eq {itwin_id}", "$top": "100"}
    jobs: list[dict[str, Any]] = []
    while url:
        answer = requests.get(url, params=params, headers=headers, timeout=30)
        answer.raise_for_status()
        body = answer.json()
        jobs += body["jobs"]
        url, params = body.get("_links", {}).get("next", {}).get("href"), None
    return jobs


def _time(job: dict[str, Any], key: str) -> datetime | None:
    text = (job.get("executionInformation") or {}).get(key)
    return None if text is None else datetime.fromisoformat(text.replace("Z", "+00:00"))


def outputs_of(job: dict[str, Any]) -> dict[str, str]:
    """A listed job's output ids by format."""
    return {o["format"]: o["id"] for o in job["jobSettings"].get("outputs") or []}


@dataclass(frozen=True)
class Chain:
    """The latest job of each stage of chain ``n`` on the service (by creation time)."""

    calib: dict[str, Any]
    recon: dict[str, Any]
    mesh: dict[str, Any]

    def links(self) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
        """(upstream, downstream) pairs."""
        yield self.calib, self.recon
        yield self.recon, self.mesh


def chain_on_service(jobs: list[dict[str, Any]], n: int) -> Chain:
    """Chain ``n``'s newest job per stage, from a job listing."""
    newest: dict[str, dict[str, Any]] = {}
    for job in sorted(jobs, key=lambda j: j["createdDateTime"]):
        for stage in STAGES:
            if job["name"].startswith(stage_name(stage, n)):
                newest[stage] = job
    return Chain(newest["calib"], newest["recon"], newest["mesh"])


def check_inputs_carry_upstream_ids(chain: Chain) -> None:
    """recon reads calib's orientations output id; mesh reuses recon's cache (its job id)."""
    orientations = outputs_of(chain.calib)["CCOrientations"]
    assert orientations in [i["id"] for i in chain.recon["inputs"]], chain.recon["inputs"]
    cache = chain.mesh["jobSettings"].get("cacheSettings") or {}
    assert cache.get("useCache") == chain.recon["id"], cache


def check_never_submitted_early(jobs: list[dict[str, Any]]) -> None:
    """No listed job was submitted before the jobs it reads from ended in success (from the
    emulator's own timestamps), and none failed for an input not ready."""
    by_output = {oid: job for job in jobs for oid in outputs_of(job).values()}
    by_id = {job["id"]: job for job in jobs}
    for job in jobs:
        errors = (job.get("executionInformation") or {}).get("errors") or []
        assert not [e for e in errors if e.get("code") == "InputNotReady"], (job["name"], errors)
        submitted = _time(job, "submittedDateTime")
        if submitted is None:
            continue
        cache = (job["jobSettings"].get("cacheSettings") or {}).get("useCache")
        upstreams = [by_output[i["id"]] for i in job["inputs"] if i["id"] in by_output]
        upstreams += [by_id[cache]] if cache in by_id else []
        for upstream in upstreams:
            ended = _time(upstream, "endedDateTime")
            assert upstream["state"] == "success", (job["name"], upstream["name"])
            assert ended is not None and submitted >= ended, (
                f"{job['name']} submitted at {submitted}, before {upstream['name']} ended "
                f"at {ended}"
            )


def names(jobs: list[dict[str, Any]]) -> Counter[str]:
    """How many jobs of each name."""
    return Counter(j["name"] for j in jobs)
