"""Tables many jobs write alike are validated once per load: each job's spec and findings are
what a validation of that job alone gives, whatever the tables hold (1, 1.0 and true alike)."""

from __future__ import annotations

import datetime
import json
import math
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rmapply.config import ProjectConfig
from rmapply.manifests.validate import Resource, Validated, validate_resource

# values that compare equal across types, or look alike, where the fields want numbers,
# booleans or strings
_alike = st.sampled_from(
    [1, 1.0, True, 0, 0.0, -0.0, False, 4, 4.0, "4", "1.5", 1.5, None, math.inf, math.nan]
) | st.sampled_from(["x", datetime.date(2020, 1, 1), "2020-01-01", [], {}])


def _mostly(good: st.SearchStrategy[Any], other: st.SearchStrategy[Any]) -> Any:
    """``good`` nine times in ten (so that many jobs validate and later ones take their
    tables), else ``other``."""
    return st.integers(0, 9).flatmap(lambda n: good if n else other)


_number = _mostly(st.sampled_from([1, 1.0, 4, 4.0, 2.5, 0, 0.0, -0.0]), _alike)
_flag = _mostly(st.booleans(), _alike)
_quality = _mostly(st.sampled_from(["Draft", "Medium", "Extra"]), st.sampled_from(["medium", 1]))
_format = _mostly(st.sampled_from(["OBJ", "3MX", "LAS"]), st.sampled_from(["obj", 1]))
_outputs = st.lists(_format, min_size=1, max_size=3, unique=True)


@st.composite
def _settings(draw: st.DrawFn) -> Any:
    table: dict[str, Any] = {}
    if draw(st.integers(0, 9)):
        table["quality"] = draw(_quality)
    if draw(st.integers(0, 9)):
        table["outputs"] = draw(_outputs)
    if draw(st.booleans()):
        table["processingEngines"] = draw(_number)
    if draw(st.booleans()):
        table["cacheSettings"] = draw(
            st.fixed_dictionaries(
                {}, optional={"createCache": _flag, "useCache": _mostly(st.just("c1"), _alike)}
            )
        )
    if draw(st.integers(0, 19)) == 0:
        table["extra"] = draw(_alike)
    return table if draw(st.integers(0, 19)) else draw(_alike)


_params = st.fixed_dictionaries(
    {}, optional={"gigaPixels": _number, "megaPoints": _number, "meshQuality": _quality}
)


@st.composite
def _jobs(draw: st.DrawFn) -> list[dict[str, Any]]:
    # a few tables shared by many jobs, as a template writes them
    settings_pool = draw(st.lists(_settings(), min_size=1, max_size=3))
    params_pool = draw(st.lists(_mostly(_params, _alike), min_size=1, max_size=3))
    found = []
    for index in range(draw(st.integers(2, 12))):
        job: dict[str, Any] = {"type": "Full", "name": f"job {index}", "inputs": [{"id": "i"}]}
        if draw(st.integers(0, 9)):
            job["settings"] = draw(st.sampled_from(settings_pool))
        if draw(st.booleans()):
            job["costEstimationParameters"] = draw(st.sampled_from(params_pool))
        found.append(job)
    return found


def _resource(index: int, data: Any) -> Resource:
    return Resource("jobs", f"job-{index}", data, "jobs.toml", 0, index + 1)


def _wire(spec: Any) -> str | None:
    return None if spec is None else json.dumps(spec.to_wire())


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_jobs())
def test_a_job_validated_after_others_is_validated_as_alone(jobs: list[dict[str, Any]]) -> None:
    config = ProjectConfig()
    validated: Validated = {}
    for index, data in enumerate(jobs):
        written = json.dumps(data, default=str)
        shared, shared_findings = validate_resource(_resource(index, data), config, validated)
        alone, findings = validate_resource(_resource(index, data), config)
        assert shared_findings == findings
        assert shared == alone
        assert _wire(shared) == _wire(alone)
        assert json.dumps(data, default=str) == written  # the resource's data is untouched


def test_a_table_equal_to_a_valid_one_in_value_only_is_validated_again() -> None:
    config = ProjectConfig()
    validated: Validated = {}

    def job(index: int, flag: Any, engines: Any) -> Resource:
        settings_ = {
            "quality": "Medium",
            "outputs": ["OBJ"],
            "processingEngines": engines,
            "cacheSettings": {"createCache": flag},
        }
        data = {"type": "Full", "name": "n", "inputs": [{"id": "i"}], "settings": settings_}
        return _resource(index, data)

    first, findings = validate_resource(job(0, True, 4), config, validated)
    assert first is not None and not findings
    # 1 == True and 4.0 == 4, yet createCache refuses 1: the same finding as alone
    _, shared = validate_resource(job(1, 1, 4), config, validated)
    assert shared == validate_resource(job(1, 1, 4), config)[1] != []
    again, _ = validate_resource(job(2, True, 4.0), config, validated)
    assert again is not None and again.settings is not first.settings
    assert again == first
    same, _ = validate_resource(job(3, True, 4), config, validated)
    assert same is not None and same.settings is first.settings
