"""Benchmark: load a manifests directory whose templates produce 10,000 jobs, cold and warm.

    .venv/bin/python bench/bench_manifests.py [--jobs 10000] [--format toml|yaml]

Cold = no cache (render + parse + validate); warm = unchanged directory, cache in
DIR/.rmapply/cache. Prints the best wall and CPU seconds of --rounds runs, the load average
(other work on the machine makes wall times noisy; CPU time much less so) and the peak
resident memory of the process. Not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rmapply.manifests import load_manifests  # noqa: E402

TOML_TEMPLATE = """\
{% for site in sites %}
[jobs.{{ site.key }}]
type = "Full"
name = {{ site.name | toml }}
workspace = "main"
inputs = [
  { id = "{{ uuid5('dns', site.key ~ '-photos') }}", description = "Photos" },
  { id = "{{ uuid5('dns', site.key ~ '-orientations') }}" },
]

[jobs.{{ site.key }}.costEstimationParameters]
gigaPixels = {{ site.gigaPixels }}
megaPoints = 1.0
meshQuality = "{{ quality }}"

[jobs.{{ site.key }}.settings]
quality = "{{ quality }}"
processingEngines = 4
outputs = ["Cesium 3D Tiles", "OBJ", "3MX"]
cacheSettings = { createCache = true }

{% endfor %}
"""

YAML_TEMPLATE = """\
jobs:
{% for site in sites %}
  {{ site.key }}:
    type: Full
    name: {{ site.name | yaml }}
    workspace: main
    inputs:
      - id: {{ uuid5('dns', site.key ~ '-photos') }}
        description: Photos
      - id: {{ uuid5('dns', site.key ~ '-orientations') }}
    costEstimationParameters:
      gigaPixels: {{ site.gigaPixels }}
      megaPoints: 1.0
      meshQuality: {{ quality }}
    settings:
      quality: {{ quality }}
      processingEngines: 4
      outputs: [Cesium 3D Tiles, OBJ, 3MX]
      cacheSettings:
        createCache: true
{% endfor %}
"""


def make_directory(root: Path, jobs: int, fmt: str) -> None:
    """rmapply.toml, a workspace, vars/default.json with the sites, and one looping template."""
    (root / "jobs").mkdir(parents=True)
    (root / "vars").mkdir()
    (root / "rmapply.toml").write_text(
        '[project]\niTwinId = "3fa85f64-5717-4562-b3fc-2c963f66afa6"\n[vars]\nquality = "Medium"\n'
    )
    (root / "workspaces.toml").write_text('[workspaces.main]\nname = "Bench"\n')
    sites = [{"key": f"site-{i:05d}", "name": f"Site {i}", "gigaPixels": 2.5} for i in range(jobs)]
    (root / "vars" / "default.json").write_text(json.dumps({"sites": sites}))
    template = TOML_TEMPLATE if fmt == "toml" else YAML_TEMPLATE
    (root / "jobs" / f"sites.{fmt}.j2").write_text(template)


def timed(directory: Path, *, use_cache: bool) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds of this process (less disturbed by other work on the
    machine), and the number of jobs loaded."""
    start, cpu = time.perf_counter(), time.process_time()
    result = load_manifests(directory, environ={}, use_cache=use_cache)
    return time.perf_counter() - start, time.process_time() - cpu, len(result.desired.jobs)


def report(label: str, runs: list[tuple[float, float, int]]) -> None:
    walls = ", ".join(f"{wall:.3f}" for wall, _, _ in runs)
    best_wall = min(wall for wall, _, _ in runs)
    best_cpu = min(cpu for _, cpu, _ in runs)
    print(f"{label:<46} best {best_wall:.3f} s wall, {best_cpu:.3f} s CPU  (wall: {walls})")


def load() -> str:
    """The 1-minute load average: above about 1 on this 2-core machine, figures are noisy."""
    try:
        return f"{os.getloadavg()[0]:.2f}"
    except OSError:
        return "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--format", choices=("toml", "yaml"), default="toml")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="rmapply-bench-"))
    try:
        make_directory(root, args.jobs, args.format)
        cold = []
        for _ in range(args.rounds):
            shutil.rmtree(root / ".rmapply", ignore_errors=True)
            cold.append(timed(root, use_cache=True))  # cold: fills the cache
        warm = [timed(root, use_cache=True) for _ in range(args.rounds)]
        nocache = [timed(root, use_cache=False) for _ in range(args.rounds)]
        peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{cold[0][2]} jobs from one {args.format}.j2 template; load average {load()}")
        report("cold (render+parse+validate, writes cache):", cold)
        report("cold without cache (use_cache=False):", nocache)
        report("warm (unchanged directory, cache hit):", warm)
        print(f"peak resident memory: {peak_mib:.0f} MiB")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
