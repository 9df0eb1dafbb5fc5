"""A saved plan is applied exactly as written or not at all: an edited file is refused, the
bodies sent are the planned ones, and the state's digest is that of what the emulator received."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from rmapply.apply.sent_spec import job_spec_as_sent, spec_digest
from rmapply.apply.summary import OutcomeStatus
from rmapply.emulator import Emulator
from rmapply.model import Address
from rmapply.plan import CreateJob, load_plan
from rmapply.state import LocalStateStore
from rmapply.wire import Job, JobCreation, Quality
from tests.apply.conftest import desired_state, job_spec, plan_for, run_apply
from tests.apply.test_cli_apply import run, write_project

CHANGED_HINT = (
    "Hint: run 'rmapply plan --out FILE' again and review the new plan; a plan file is applied"
    " only exactly as 'rmapply plan' wrote it\n"
)


@pytest.fixture
def env(emulator: Emulator, token: str) -> dict[str, str]:
    """The environment that points rmapply at the emulator fixture."""
    return {"RMAPPLY_ENDPOINT": emulator.base_url, "RMAPPLY_TOKEN": token}


def _planned(env: dict[str, str], root: Path, itwin_id: str) -> tuple[Path, Path]:
    """A project whose job ``a`` is applied and whose new job ``b`` is planned into a file."""
    project = write_project(root / "p", itwin_id, {"a": ""})
    assert run(env, "apply", "-C", str(project), "--auto-approve")[0] == 0
    write_project(project, itwin_id, {"a": "", "b": ""})
    plan = root / "plan.json"
    code, _, err = run(env, "plan", "-C", str(project), "--out", str(plan))
    assert code == 0, err
    return project, plan


def _action(data: dict[str, Any], address: str) -> dict[str, Any]:
    (found,) = (a for a in data["plan"]["actions"] if a["address"] == address)
    assert isinstance(found, dict)
    return found


def _set_quality(data: dict[str, Any]) -> None:
    _action(data, "jobs.b")["request"]["settings"]["quality"] = "Extra"


def _rename(data: dict[str, Any]) -> None:
    _action(data, "jobs.b")["request"]["name"] = "Job b (edited)"


def _make_replace(data: dict[str, Any]) -> None:
    _action(data, "jobs.a")["action"] = "replace"


def _add_action(data: dict[str, Any]) -> None:
    extra = json.loads(json.dumps(_action(data, "jobs.b")))
    extra["address"] = "jobs.c"
    extra["request"]["name"] = "Job c"
    data["plan"]["actions"].append(extra)


@pytest.mark.parametrize(
    "edit",
    [_set_quality, _rename, _make_replace, _add_action],
    ids=["settings.quality", "job name", "action kind", "added action"],
)
def test_an_edited_saved_plan_is_refused_and_nothing_is_sent_or_recorded(
    tmp_path: Path,
    emulator: Emulator,
    env: dict[str, str],
    itwin_id: str,
    edit: Callable[[dict[str, Any]], None],
) -> None:
    project, plan = _planned(env, tmp_path, itwin_id)
    data = json.loads(plan.read_text(encoding="utf-8"))
    edit(data)
    plan.write_text(json.dumps(data, indent=2), encoding="utf-8")
    state_before = (project / "state.json").read_bytes()
    requests_before = emulator.request_count()
    code, out, err = run(env, "apply", "-C", str(project), str(plan))
    assert (code, out) == (1, "")
    assert err == (
        f"Error: plan file {plan} was changed after it was written (digest mismatch)\n"
        + CHANGED_HINT
    )
    assert emulator.request_count() == requests_before
    assert [j.name for j in emulator.jobs()] == ["Job a"]
    assert (project / "state.json").read_bytes() == state_before


def test_a_saved_plan_without_its_seal_is_refused(
    tmp_path: Path, emulator: Emulator, env: dict[str, str], itwin_id: str
) -> None:
    project, plan = _planned(env, tmp_path, itwin_id)
    data = json.loads(plan.read_text(encoding="utf-8"))
    del data["seal"]
    plan.write_text(json.dumps(data), encoding="utf-8")
    code, _, err = run(env, "apply", "-C", str(project), str(plan))
    assert code == 1
    assert err == (
        f"Error: plan file {plan} has no seal (written by an older rmapply, or the seal was"
        " removed), so it cannot be checked for changes\n"
        "Hint: run 'rmapply plan --out FILE' again and review the new plan\n"
    )
    assert [j.name for j in emulator.jobs()] == ["Job a"]


@pytest.mark.parametrize("command", ["apply", "show"])
def test_a_format_1_plan_file_is_refused_with_plan_again(
    tmp_path: Path, emulator: Emulator, env: dict[str, str], itwin_id: str, command: str
) -> None:
    project, plan = _planned(env, tmp_path, itwin_id)
    old = {"format": "rmapply-plan", "format_version": 1, "plan": {"actions": []}}
    plan.write_text(json.dumps(old), encoding="utf-8")
    code, out, err = run(env, command, "-C", str(project), str(plan))
    assert (code, out) == (1, "")
    assert err == (
        f"Error: {plan}: plan file format 1 was written by an older rmapply; this one reads"
        " format 2 (camelCase keys, sealed)\n"
        "Hint: plan again with 'rmapply plan --out FILE' and review the new plan\n"
    )
    assert [j.name for j in emulator.jobs()] == ["Job a"]


def _received(job: Job) -> JobCreation:
    """The POST /jobs body the emulator stored for ``job`` (it keeps the body as received)."""
    settings = job.job_settings.to_wire()
    settings["outputs"] = [o["format"] for o in settings.get("outputs", [])]
    body: dict[str, Any] = {
        "type": job.type.value,
        "name": job.name,
        "workspaceId": job.workspace_id,
        "inputs": [i.to_wire() for i in job.inputs],
        "settings": settings,
    }
    if job.cost_estimation_parameters is not None:
        body["costEstimationParameters"] = job.cost_estimation_parameters.to_wire()
    return JobCreation.from_wire(body)


def test_an_untouched_saved_plan_sends_the_planned_bodies_and_records_their_digest(
    tmp_path: Path, emulator: Emulator, env: dict[str, str], itwin_id: str
) -> None:
    project = write_project(tmp_path / "p", itwin_id, {"maker": "", "user": ""})
    with (project / "jobs" / "maker.toml").open("a") as toml:
        toml.write("[jobs.maker.settings.cacheSettings]\ncreateCache = true\n")
    with (project / "jobs" / "user.toml").open("a") as toml:
        toml.write('[jobs.user.settings.cacheSettings]\nuseCache = "jobs.maker"\n')
    plan = tmp_path / "plan.json"
    code, _, err = run(env, "plan", "-C", str(project), "--out", str(plan))
    assert code == 0, err
    saved = load_plan(plan)
    code, _, err = run(env, "apply", "-C", str(project), str(plan))
    assert (code, err) == (0, "")
    state = LocalStateStore(project / "state.json").load()
    workspace_id = state.resources["workspaces.main"].remote_id
    maker_id = state.resources["jobs.maker"].remote_id
    filled = {Address.workspace("main"): workspace_id, Address.job("maker"): maker_id}
    for key in ("maker", "user"):
        planned = saved.plan.action_for(f"jobs.{key}")
        assert isinstance(planned, CreateJob)
        record = state.resources[f"jobs.{key}"]
        job = emulator.job(record.remote_id)
        assert job is not None
        received = _received(job)
        # the placeholders were filled with the ids this apply created, nothing else changed
        assert received == planned.request_body(filled)
        assert record.digest == spec_digest(job_spec_as_sent(planned.after or {}, received))
        assert (record.spec, record.digest) == (planned.after, planned.after_digest)
    user = emulator.job(state.resources["jobs.user"].remote_id)
    assert user is not None and user.job_settings.cache_settings is not None
    assert user.job_settings.cache_settings.use_cache == maker_id
    code, out, _ = run(env, "plan", "-C", str(project), "--detailed-exitcode")
    assert code == 0, out


def test_a_placeholder_is_filled_only_with_an_id_created_by_the_same_apply(
    tmp_path: Path, emulator: Emulator, client: Any, store: LocalStateStore, itwin_id: str
) -> None:
    assert run_apply(desired_state(itwin_id, {"a": job_spec("Job A")}), store, client).ok
    # a plan made before workspaces.main existed: job b's workspace id is known after apply;
    # applied without the workspace's create, the id the state holds now must not fill it
    desired = desired_state(itwin_id, {"a": job_spec("Job A"), "b": job_spec("Job B")})
    plan = plan_for(desired, LocalStateStore(tmp_path / "no-state.json"))
    job_b = plan.action_for("jobs.b")
    assert isinstance(job_b, CreateJob) and job_b.workspace_ref == Address.workspace("main")
    summary = run_apply(desired, store, client, plan=plan.model_copy(update={"actions": (job_b,)}))
    (failed,) = summary.with_status(OutcomeStatus.FAILED)
    assert failed.message == (
        "jobs.b: the id of workspaces.main is not known yet: this apply has not created it (a"
        " placeholder takes only an id made by the same apply); nothing was sent"
    )
    assert [j.name for j in emulator.jobs()] == ["Job A"]
    assert "jobs.b" not in store.load().resources


def test_a_body_unlike_the_planned_spec_is_recorded_as_sent_and_the_next_plan_shows_it(
    emulator: Emulator, client: Any, store: LocalStateStore, itwin_id: str
) -> None:
    desired = desired_state(itwin_id, {"a": job_spec("Job A", submit=False)})
    plan = plan_for(desired, store)
    create = plan.action_for("jobs.a")
    assert isinstance(create, CreateJob)
    # a plan whose body says more than its spec (no plan file can carry one: it is sealed)
    settings = create.request.settings.model_copy(update={"quality": Quality.EXTRA})
    body = create.request.model_copy(update={"settings": settings})
    odd = create.model_copy(update={"request": body})
    actions = tuple(odd if a is create else a for a in plan.actions)
    assert run_apply(desired, store, client, plan=plan.model_copy(update={"actions": actions})).ok
    (job,) = emulator.jobs()
    record = store.load().resources["jobs.a"]
    assert record.remote_id == job.id
    assert record.spec["settings"]["quality"] == job.job_settings.quality == "Extra"
    assert record.digest == spec_digest(job_spec_as_sent(create.after or {}, _received(job)))
    assert record.digest != create.after_digest
    following = plan_for(desired, store).action_for("jobs.a")
    assert following is not None and following.action.value == "update"
    assert [(c.path, c.before, c.after) for c in following.diff] == [
        ("settings.quality", "Extra", "Medium")
    ]


def test_show_refuses_an_edited_plan_file_as_apply_does(
    tmp_path: Path, env: dict[str, str], itwin_id: str
) -> None:
    _, plan = _planned(env, tmp_path, itwin_id)
    assert run(env, "show", str(plan))[0] == 0
    data = json.loads(plan.read_text(encoding="utf-8"))
    _set_quality(data)
    plan.write_text(json.dumps(data), encoding="utf-8")
    code, out, err = run(env, "show", str(plan))
    assert (code, out) == (1, "")
    assert err.startswith(f"Error: plan file {plan} was changed after it was written")
