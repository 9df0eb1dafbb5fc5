"""``rmapply apply``, ``status`` and ``wait`` through the CLI, against the emulator over HTTP."""

from __future__ import annotations

import json
import os
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from rmapply.cli import cli
from rmapply.emulator import Emulator
from rmapply.state import LocalStateStore
from tests.schemas import assert_valid

RMAPPLY = [sys.executable, "-c", "from rmapply.cli import main; main()"]


def write_project(root: Path, itwin_id: str, jobs: dict[str, str]) -> Path:
    """A manifests directory with workspace ``main`` and one TOML file per job (extra TOML
    lines per job in ``jobs``' values)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "rmapply.toml").write_text(
        f'[project]\niTwinId = "{itwin_id}"\nname = "t"\n\n[state]\npath = "state.json"\n'
    )
    (root / "workspaces.toml").write_text('[workspaces.main]\nname = "Main"\n')
    (root / "jobs").mkdir(exist_ok=True)
    for key, extra in jobs.items():
        (root / "jobs" / f"{key}.toml").write_text(
            f'[jobs.{key}]\ntype = "Full"\nname = "Job {key}"\nworkspace = "main"\n'
            'inputs = [{ id = "58e0c0ca-1d8d-4e8b-9a3c-2f3a1b5c7d90" }]\n'
            f"{extra}\n"
            f'[jobs.{key}.settings]\nquality = "Draft"\noutputs = ["OBJ"]\n'
        )
    return root


@pytest.fixture
def env(emulator: Emulator, token: str) -> dict[str, str]:
    """The environment that points rmapply at the emulator fixture."""
    return {
        "RMAPPLY_ENDPOINT": emulator.base_url,
        "RMAPPLY_TOKEN": token,
        "RMAPPLY_POLL_SCALE": "0.002",
    }


def run(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def test_apply_auto_approve_creates_submits_and_output_shows_the_ids(
    tmp_path: Path, emulator: Emulator, env: dict[str, str], itwin_id: str
) -> None:
    project = write_project(tmp_path / "p", itwin_id, {"a": "", "b": ""})
    code, out, err = run(env, "apply", "-C", str(project), "--auto-approve")
    assert (code, err) == (0, "")
    assert "jobs.a: created [id=" in out
    assert "Plan: 3 to create, 0 to update, 0 to replace, 0 to delete;" in out
    assert out.rstrip().endswith(
        "Apply complete: 3 created, 0 updated, 0 replaced, 0 deleted; 2 submitted; 0 failed,"
        " 0 skipped."
    )
    jobs = {j.name: j for j in emulator.jobs()}
    assert sorted(jobs) == ["Job a", "Job b"]
    code, out, _ = run(env, "output", "-C", str(project), "--json")
    assert code == 0
    assert run(env, "output", "-C", str(project), "--format", "json")[1] == out  # the alias
    shown = json.dumps(json.loads(out))
    for job in jobs.values():
        assert job.id in shown
        assert job.output_ids()["OBJ"] in shown


def test_apply_without_a_terminal_and_without_auto_approve_refuses_and_changes_nothing(
    tmp_path: Path, emulator: Emulator, env: dict[str, str], itwin_id: str
) -> None:
    project = write_project(tmp_path / "p", itwin_id, {"a": ""})
    code, out, err = run(env, "apply", "-C", str(project))
    assert code == 1
    assert "jobs.a: create" in out  # the plan was shown
    assert err == (
        "Error: refusing to apply without confirmation: no terminal to ask on (stdin is not a "
        "terminal)\nHint: review the plan and pass --auto-approve, or apply a reviewed plan "
        "file: 'rmapply plan --out plan.json' then 'rmapply apply plan.json'\n"
    )
    assert emulator.request_count("POST") == 0
    assert LocalStateStore(project / "state.json").load().resources == {}


def _on_terminal(project: Path, env: dict[str, str], answer: str) -> tuple[int, str]:
    """Run apply on a pseudo-terminal and answer its question."""
    master, slave = os.openpty()
    process = subprocess.Popen(
        [*RMAPPLY, "apply", "-C", str(project)],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env={**os.environ, **env},
        close_fds=True,
    )
    os.close(slave)
    seen = b""
    deadline = time.monotonic() + 30
    answered = False
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
        if not answered and b"Apply these changes?" in seen:
            os.write(master, answer.encode() + b"\n")
            answered = True
        if process.poll() is not None and not ready:
            break
    os.close(master)
    return process.wait(timeout=30), seen.decode(errors="replace")


def test_apply_on_a_terminal_asks_and_applies_only_after_yes(
    tmp_path: Path, emulator: Emulator, env: dict[str, str], itwin_id: str
) -> None:
    project = write_project(tmp_path / "p", itwin_id, {"a": ""})
    code, screen = _on_terminal(project, env, "n")
    assert code == 1
    assert "Error: apply cancelled: nothing was changed" in screen
    assert emulator.jobs() == []
    code, screen = _on_terminal(project, env, "y")
    assert code == 0, screen
    assert [j.name for j in emulator.jobs()] == ["Job a"]


def test_a_saved_plan_is_applied_exactly_and_refused_once_stale(
    tmp_path: Path, emulator: Emulator, env: dict[str, str], itwin_id: str
) -> None:
    project = write_project(tmp_path / "p", itwin_id, {"a": ""})
    plan = tmp_path / "plan.json"
    code, _, err = run(env, "plan", "-C", str(project), "--out", str(plan))
    assert code == 0, err
    code, _, err = run(env, "apply", "-C", str(project), str(plan))
    assert (code, err) == (0, "")
    assert [j.name for j in emulator.jobs()] == ["Job a"]
    # the new state has the lineage the plan promised
    state = LocalStateStore(project / "state.json").load()
    assert state.lineage == json.loads(plan.read_text())["lineage"]
    # the state moved on: the same plan file is now stale and nothing is sent
    before = emulator.request_count()
    code, _out, err = run(env, "apply", "-C", str(project), str(plan))
    assert code == 1
    assert err.startswith(
        "Error: the saved plan is stale:\n  state: a state (lineage "
        f"{state.lineage}, serial 1) was written since the plan was made from no state\n"
    )
    assert emulator.request_count() == before


def test_a_saved_plan_is_refused_when_the_manifests_changed(
    tmp_path: Path, emulator: Emulator, env: dict[str, str], itwin_id: str
) -> None:
    project = write_project(tmp_path / "p", itwin_id, {"a": ""})
    plan = tmp_path / "plan.json"
    assert run(env, "plan", "-C", str(project), "--out", str(plan))[0] == 0
    write_project(project, itwin_id, {"b": ""})
    code, _, err = run(env, "apply", "-C", str(project), str(plan))
    assert code == 1
    assert "  manifests: the rendered manifests differ from the planned ones" in err
    assert emulator.jobs() == []


def test_partial_failure_exits_1_naming_the_api_code_and_message_and_the_skipped_dependents(
    tmp_path: Path, emulator: Emulator, env: dict[str, str], itwin_id: str
) -> None:
    project = write_project(
        tmp_path / "p", itwin_id, {"good": "", "bad": "", "after": 'dependsOn = ["jobs.bad"]'}
    )
    bad = project / "jobs" / "bad.toml"
    bad.write_text(
        bad.read_text().replace('outputs = ["OBJ"]', 'outputs = ["OBJ"]\nprocessingEngines = 99')
    )
    # simulated time stands still: at the fixture's speed a slow apply (a loaded machine) saw
    # the submitted job finish before the test read it
    emulator.set_speed(0)
    code, out, err = run(env, "apply", "-C", str(project), "--auto-approve")
    assert code == 1
    refused = (
        "POST /jobs: 422 InvalidContextCaptureRequest: Cannot create job. "
        "settings.processingEngines: Invalid 'processingEngines' parameter. It must be between "
        "0 and the engine limit (25)."
    )
    assert err.splitlines() == [
        "Error: apply finished with problems: 1 failed, 3 skipped",
        f"  jobs.bad: create failed: {refused}",
        "  jobs.bad: submit skipped: jobs.bad did not succeed",
        "  jobs.after: create skipped: depends on jobs.bad, whose create failed",
        "  jobs.after: submit skipped: jobs.after did not succeed",
        "Hint: fix what is named above and run 'rmapply apply' again: what succeeded is "
        "recorded in the state and is not repeated",
    ]
    assert f"jobs.bad: create failed: {refused}" in out.splitlines()
    assert "jobs.good: submitted [id=" in out
    (good,) = emulator.jobs()
    assert (good.name, good.state.value) == ("Job good", "active")
    state = LocalStateStore(project / "state.json").load()
    assert sorted(state.resources) == ["jobs.good", "workspaces.main"]
    assert state.resources["jobs.good"].remote_id == good.id


def test_json_streams_one_event_per_line(
    tmp_path: Path, emulator: Emulator, env: dict[str, str], itwin_id: str
) -> None:
    project = write_project(tmp_path / "p", itwin_id, {"a": ""})
    code, out, err = run(
        env, "apply", "-C", str(project), "--auto-approve", "--format", "json", "--wait"
    )
    assert code == 0, err
    events = [json.loads(line) for line in out.splitlines()]
    for event in events:
        assert_valid("apply-events", event)
    assert events[0]["plan"]["formatVersion"] == 2
    assert events[-1]["doneByAction"] == {"create": 2, "submit": 1}
    kinds = [e["event"] for e in events]
    assert kinds[0] == "plan" and kinds[-1] == "summary"
    assert kinds.count("action_started") == kinds.count("action_finished") == 3
    assert "job_settled" in kinds
    finished = [e for e in events if e["event"] == "action_finished" and e["action"] == "create"]
    assert {e["address"] for e in finished} == {"workspaces.main", "jobs.a"}
    assert events[-1]["jobStates"] == {"jobs.a": "success"}
    for command in ("status", "wait"):
        code, out, err = run(env, command, "-C", str(project), "--format", "json")
        assert (code, err) == (0, "")
        lines = [json.loads(line) for line in out.splitlines()]
        for line in lines:
            assert_valid("status" if command == "status" else "apply-events", line)
        assert run(env, command, "-C", str(project), "--json")[1] == out  # the alias
    assert lines[-1]["event"] == "summary"


def test_max_cost_creates_but_submits_nothing_and_says_why(
    tmp_path: Path, emulator: Emulator, env: dict[str, str], itwin_id: str
) -> None:
    params = '[jobs.{k}.costEstimationParameters]\ngigaPixels = 2.0\nmeshQuality = "Medium"'
    project = write_project(tmp_path / "p", itwin_id, {k: params.format(k=k) for k in ("a", "b")})
    # a local cost model that underestimates: the plan fits, the service's own figures do not
    with (project / "rmapply.toml").open("a") as toml:
        toml.write("\n[cost]\ngigaPixelRate = 0.1\n")
    code, out, err = run(env, "apply", "-C", str(project), "--auto-approve", "--max-cost", "3")
    assert code == 1
    assert (
        "Budget: submitting 2 job(s) would cost 4 by the service's estimates, over the "
        "budget of 3; left unsubmitted: jobs.a, jobs.b" in out
    )
    assert "2 held by the budget" in err
    assert [j.state.value for j in emulator.jobs()] == ["unsubmitted", "unsubmitted"]


def test_status_and_wait_re_attach_from_state_in_later_processes(
    tmp_path: Path, emulator_factory, token: str, itwin_id: str
) -> None:
    slow = emulator_factory(speed=1.0)
    env = {"RMAPPLY_ENDPOINT": slow.base_url, "RMAPPLY_TOKEN": token, "RMAPPLY_POLL_SCALE": "0.002"}
    project = write_project(tmp_path / "p", itwin_id, {"a": ""})
    assert run(env, "apply", "-C", str(project), "--auto-approve")[0] == 0
    code, out, _ = run(env, "status", "-C", str(project))
    assert code == 0
    assert out.startswith("jobs.a: active ")
    slow.set_speed(1000.0)
    code, out, err = run(env, "wait", "-C", str(project))
    assert (code, err) == (0, "")
    assert out.rstrip().endswith("Waited for 1 job(s): 1 success.")
    state = LocalStateStore(project / "state.json").load()
    assert state.resources["jobs.a"].remote["state"] == "success"


def test_wait_exits_1_when_a_job_failed(
    tmp_path: Path, emulator: Emulator, env: dict[str, str], itwin_id: str
) -> None:
    project = write_project(tmp_path / "p", itwin_id, {"a": ""})
    (project / "jobs" / "a.toml").write_text(
        (project / "jobs" / "a.toml").read_text().replace('"Job a"', '"Job a [fail]"')
    )
    code, out, err = run(env, "apply", "-C", str(project), "--auto-approve", "--wait")
    assert code == 1
    assert "jobs.a: job failed" in out
    assert err.startswith("Error: apply finished with problems: 1 job(s) ended failed or cancelled")
    assert "retryFailed = true, or you ask for it once with 'rmapply apply --replace jobs.a'" in err


def test_apply_replace_runs_an_unchanged_job_again_and_keeps_the_old_one_in_history(
    tmp_path: Path, emulator: Emulator, env: dict[str, str], itwin_id: str
) -> None:
    project = write_project(tmp_path / "p", itwin_id, {"a": "", "b": ""})
    assert run(env, "apply", "-C", str(project), "--auto-approve")[0] == 0
    first = LocalStateStore(project / "state.json").load().resources["jobs.a"].remote_id
    code, out, err = run(
        env, "plan", "-C", str(project), "--replace", "jobs.a*", "--format", "json"
    )
    assert (code, err) == (0, "")
    planned = {a["address"]: (a["action"], a["reasonCode"]) for a in json.loads(out)["actions"]}
    assert planned["jobs.a"] == ("replace", "replace-requested")
    assert planned["jobs.b"] == ("noop", "unchanged")
    code, out, err = run(env, "apply", "-C", str(project), "--auto-approve", "--replace", "jobs.a")
    assert (code, err) == (0, "")
    assert f"--replace jobs.a: job {first}" in out
    assert "Apply complete: 0 created, 0 updated, 1 replaced, 0 deleted; 1 submitted;" in out
    record = LocalStateStore(project / "state.json").load().resources["jobs.a"]
    assert record.remote_id != first
    assert first in [h.id for h in record.history]
    assert sorted(j.name for j in emulator.jobs()) == ["Job a", "Job a", "Job b"]


def test_replace_matching_no_job_is_refused_with_a_did_you_mean(
    tmp_path: Path, emulator: Emulator, env: dict[str, str], itwin_id: str
) -> None:
    project = write_project(tmp_path / "p", itwin_id, {"site-a": ""})
    code, _, err = run(env, "plan", "-C", str(project), "--replace", "jobs.site-b")
    assert code == 1
    assert "--replace 'jobs.site-b' matches no resource in the manifests or the state" in err
    assert "did you mean 'jobs.site-a'?" in err


def _plan_out(env: dict[str, str], project: Path, plan: Path) -> None:
    code, _, err = run(env, "plan", "-C", str(project), "--out", str(plan))
    assert code == 0, err


def test_a_saved_plan_is_refused_when_the_state_serial_moved_on(
    tmp_path: Path, emulator: Emulator, env: dict[str, str], itwin_id: str
) -> None:
    project = write_project(tmp_path / "p", itwin_id, {"a": ""})
    assert run(env, "apply", "-C", str(project), "--auto-approve")[0] == 0
    planned = {"a": "", "b": ""}
    write_project(project, itwin_id, planned)
    plan = tmp_path / "plan.json"
    _plan_out(env, project, plan)
    # meanwhile another change is applied, then the manifests are back to the planned ones
    (project / "jobs" / "b.toml").unlink()
    write_project(project, itwin_id, {"a": "", "c": ""})
    assert run(env, "apply", "-C", str(project), "--auto-approve")[0] == 0
    (project / "jobs" / "c.toml").unlink()
    write_project(project, itwin_id, planned)
    serial = LocalStateStore(project / "state.json").load().serial
    before = emulator.request_count()
    code, _, err = run(env, "apply", "-C", str(project), str(plan))
    assert code == 1
    assert err == (
        "Error: the saved plan is stale:\n"
        f"  serial: the plan has {json.loads(plan.read_text())['serial']}, the state has "
        f"{serial}\n"
        "Hint: make a new plan with 'rmapply plan --out FILE' and review it again\n"
    )
    assert emulator.request_count() == before
    assert "Job b" not in {j.name for j in emulator.jobs()}


def test_a_saved_plan_is_refused_when_the_state_is_of_another_lineage(
    tmp_path: Path, emulator: Emulator, env: dict[str, str], itwin_id: str
) -> None:
    from rmapply.state.statefile import write_state

    project = write_project(tmp_path / "p", itwin_id, {"a": ""})
    assert run(env, "apply", "-C", str(project), "--auto-approve")[0] == 0
    write_project(project, itwin_id, {"a": "", "b": ""})
    plan = tmp_path / "plan.json"
    _plan_out(env, project, plan)
    # the state file is swapped for one of another lineage with the same serial (a state of
    # another project copied into place)
    state_path = project / "state.json"
    other = LocalStateStore(state_path).load()
    planned_lineage = other.lineage
    other.lineage = "0f0f0f0f-0000-4000-8000-000000000000"
    write_state(state_path, other)
    before = emulator.request_count()
    code, _, err = run(env, "apply", "-C", str(project), str(plan))
    assert code == 1
    assert err == (
        "Error: the saved plan is stale:\n"
        f"  lineage: the plan has {planned_lineage}, the state has "
        "0f0f0f0f-0000-4000-8000-000000000000\n"
        "Hint: make a new plan with 'rmapply plan --out FILE' and review it again\n"
    )
    assert emulator.request_count() == before


def test_apply_reaches_the_endpoint_given_by_flag_or_by_rmapply_toml(
    tmp_path: Path, emulator: Emulator, token: str, itwin_id: str
) -> None:
    bare = {"RMAPPLY_TOKEN": token, "RMAPPLY_POLL_SCALE": "0.002"}
    by_flag = write_project(tmp_path / "flag", itwin_id, {"a": ""})
    code, _, err = run(
        bare, "apply", "-C", str(by_flag), "--auto-approve", "--endpoint", emulator.base_url
    )
    assert (code, err) == (0, "")
    by_file = write_project(tmp_path / "file", itwin_id, {"b": ""})
    with (by_file / "rmapply.toml").open("a") as toml:
        toml.write(f'\n[api]\nendpoint = "{emulator.base_url}"\n')
    code, _, err = run(bare, "apply", "-C", str(by_file), "--auto-approve")
    assert (code, err) == (0, "")
    assert sorted(j.name for j in emulator.jobs()) == ["Job a", "Job b"]


def test_the_budget_of_rmapply_toml_holds_the_submits_like_max_cost(
    tmp_path: Path, emulator: Emulator, env: dict[str, str], itwin_id: str
) -> None:
    params = '[jobs.a.costEstimationParameters]\ngigaPixels = 2.0\nmeshQuality = "Medium"'
    project = write_project(tmp_path / "p", itwin_id, {"a": params})
    with (project / "rmapply.toml").open("a") as toml:
        toml.write("\n[cost]\ngigaPixelRate = 0.1\n\n[budget]\nmaxCost = 1.5\n")
    code, out, err = run(env, "apply", "-C", str(project), "--auto-approve")
    assert code == 1
    assert (
        "Budget: submitting 1 job(s) would cost 2 by the service's estimates, over the budget "
        "of 1.5; left unsubmitted: jobs.a" in out
    )
    assert err.startswith("Error: apply finished with problems: 1 held by the budget\n")
    assert [j.state.value for j in emulator.jobs()] == ["unsubmitted"]
    assert emulator.request_count("PATCH") == 0


def test_a_rate_limit_pause_is_shown_to_the_user_as_one_line(
    tmp_path: Path, emulator: Emulator, env: dict[str, str], itwin_id: str
) -> None:
    project = write_project(tmp_path / "p", itwin_id, {"a": ""})
    emulator.throttle_next(1, retry_after=1, method="POST", path_prefix="/contextcapture/jobs")
    code, out, err = run(env, "apply", "-C", str(project), "--auto-approve")
    assert (code, err) == (0, "")
    paused = [line for line in out.splitlines() if line.startswith("Rate limited")]
    # one line for the one pause; the pace after it depends on how fast this machine sent
    assert len(paused) == 1, out
    assert re.fullmatch(
        r"Rate limited by the service \(429 on POST /jobs\): pausing 1 s, then pacing at "
        r"[0-9.]+ requests/s",
        paused[0],
    ), paused
    assert [j.name for j in emulator.jobs()] == ["Job a"]


def test_a_lost_create_with_several_matches_is_shown_with_the_commands_that_settle_it(
    tmp_path: Path, emulator: Emulator, env: dict[str, str], itwin_id: str, token: str
) -> None:
    from rmapply.client import RealityModelingClient, StaticToken
    from rmapply.wire import JobCreation

    project = write_project(tmp_path / "p", itwin_id, {"a": "submit = false"})
    assert run(env, "apply", "-C", str(project), "--auto-approve")[0] == 0
    workspace_id = LocalStateStore(project / "state.json").load().resources["workspaces.main"]
    # someone else made a job just like the one about to be created
    body = JobCreation.from_wire(
        {
            "type": "Full",
            "name": "Job b",
            "workspaceId": workspace_id.remote_id,
            "inputs": [{"id": "58e0c0ca-1d8d-4e8b-9a3c-2f3a1b5c7d90"}],
            "settings": {"quality": "Draft", "outputs": ["OBJ"]},
        }
    )
    with RealityModelingClient(emulator.base_url, StaticToken(token)) as other:
        theirs = other.create_job(body).id
    write_project(project, itwin_id, {"a": "submit = false", "b": ""})
    emulator.drop_next(1, "POST", "/contextcapture/jobs")
    code, out, err = run(env, "apply", "-C", str(project), "--auto-approve")
    assert code == 1
    ids = sorted(j.id for j in emulator.jobs() if j.name == "Job b")
    assert len(ids) == 2 and theirs in ids
    assert emulator.request_count("POST", "/contextcapture/jobs") == 3  # a, theirs, b once
    commands = [
        f"rmapply import jobs.b {ids[0]}",
        f"rmapply import jobs.b {ids[1]}",
        "rmapply state forget-intent jobs.b",
    ]
    lines = out.splitlines()
    first = lines.index(f"  settle with: {commands[0]}")
    assert lines[first - 1].startswith("jobs.b: unknown outcome of create: unresolved (2 jobs")
    assert lines[first + 1 : first + 3] == [f"  settle with: {c}" for c in commands[1:]]
    assert err.splitlines()[:5] == [
        "Error: apply finished with problems: 1 unknown, 1 skipped",
        "  jobs.b: create unknown: POST /jobs: the connection was closed before an answer came "
        "back; the request may have been processed",
        *(f"    settle with: {c}" for c in commands),
    ]
    state = LocalStateStore(project / "state.json").load()
    assert set(state.pending) == {"jobs.b"}
    assert "jobs.b" not in state.resources
    # a later apply sends nothing for it until it is settled
    before = emulator.request_count("POST")
    assert run(env, "apply", "-C", str(project), "--auto-approve")[0] == 1
    assert emulator.request_count("POST") == before


def test_wait_without_a_terminal_prints_plain_progress_lines(
    tmp_path: Path, emulator_factory, token: str, itwin_id: str
) -> None:
    paced = emulator_factory(speed=200.0)
    env = {"RMAPPLY_ENDPOINT": paced.base_url, "RMAPPLY_TOKEN": token, "RMAPPLY_POLL_SCALE": "0.01"}
    project = write_project(tmp_path / "p", itwin_id, {"a": ""})
    code, out, err = run(env, "apply", "-C", str(project), "--auto-approve", "--wait")
    assert (code, err) == (0, "")
    assert "\x1b[" not in out
    progress = [line for line in out.splitlines() if line.startswith("jobs.a: ") and "%" in line]
    # the first poll may land after the job started (a loaded machine): any percentage, but the
    # plain "address: N% State" shape, moving forward
    assert progress and all(re.match(r"jobs\.a: \d+% (Active|Over)", p) for p in progress)
    percentages = [int(re.match(r"jobs\.a: (\d+)%", p).group(1)) for p in progress]  # type: ignore[union-attr]
    assert percentages == sorted(percentages)
    assert "jobs.a: job success [id=" in out


def test_apply_wait_that_reaches_its_time_limit_exits_1_and_leaves_the_jobs_running(
    tmp_path: Path, emulator_factory, token: str, itwin_id: str
) -> None:
    slow = emulator_factory(speed=1.0)
    env = {"RMAPPLY_ENDPOINT": slow.base_url, "RMAPPLY_TOKEN": token, "RMAPPLY_POLL_SCALE": "0.002"}
    project = write_project(tmp_path / "p", itwin_id, {"a": ""})
    code, out, err = run(
        env, "apply", "-C", str(project), "--auto-approve", "--wait", "--wait-timeout", "0.3"
    )
    assert code == 1
    assert "Stopped waiting (timeout); 1 job(s) keep running on the service" in out
    assert err == (
        "Error: stopped waiting after 0.3 s; still running: jobs.a\n"
        "Hint: run 'rmapply wait' again later; the jobs keep running\n"
    )
    assert [j.state.value for j in slow.jobs()] == ["active"]
    assert LocalStateStore(project / "state.json").load().resources["jobs.a"].remote_id
