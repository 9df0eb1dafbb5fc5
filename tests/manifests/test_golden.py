"""Golden files of rendering: the shipped example and a directory using every template feature.

Regenerate after an intended change with ``RMAPPLY_UPDATE_GOLDEN=1 pytest tests/manifests``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rmapply.manifests.document import dump, to_document
from tests.manifests.conftest import load
from tests.reference import REPO

GOLDEN = Path(__file__).parent / "golden"
CASES = [
    ("example.yaml", REPO / "manifests", (), "yaml"),
    ("example-prod.json", REPO / "manifests", ("vars/prod.yaml",), "json"),
    ("features.toml", GOLDEN / "features", (), "toml"),
    ("features.yaml", GOLDEN / "features", (), "yaml"),
]


@pytest.mark.parametrize(
    ("golden", "directory", "var_files", "fmt"), CASES, ids=[c[0] for c in CASES]
)
def test_rendering_matches_the_golden_file(
    golden: str, directory: Path, var_files: tuple[str, ...], fmt: str
) -> None:
    result = load(directory, var_files=var_files)
    text = dump(to_document(result.desired), fmt)
    path = GOLDEN / golden
    if os.environ.get("RMAPPLY_UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")


def test_golden_features_sources_point_into_the_templates() -> None:
    result = load(GOLDEN / "features")
    assert {str(a): str(j.source) for a, j in result.desired.jobs.items()} == {
        "jobs.merge": "jobs/multi.yaml.j2:7",
        "jobs.north": "jobs/regions.toml.j2:3",
        "jobs.south": "jobs/regions.toml.j2:3",
    }
