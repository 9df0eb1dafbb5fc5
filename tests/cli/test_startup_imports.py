"""What a command imports: start-up speed is kept by importing only what a path uses.

Each command runs in a fresh interpreter (a subprocess) that writes ``sys.modules`` at exit, so
a module imported anywhere on the path shows, whoever imported it. Speed itself is measured by
bench/bench_cli_speed.py, never by a test.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import click

from rmapply.cli.main import COMMAND_MODULES, COMMAND_SUMMARIES, cli
from rmapply.cli.pydantic_plugins import LOADER
from tests.cli.project import REPO, write_project

# Writes the names of the imported modules to the file named by MODULES_OUT at exit (after
# the CLI's sys.exit), then runs rmapply as the console script does.
PROBE = """
import atexit, json, os, sys
def _dump():
    with open(os.environ["MODULES_OUT"], "w", encoding="utf-8") as stream:
        json.dump(sorted(sys.modules), stream)
atexit.register(_dump)
from rmapply.cli import main
main()
"""
# Libraries that only rendering, YAML, a changed resource, a lock, the network, the emulator or
# the PostgreSQL state backend need: never a start-up cost.
HEAVY = (
    "jinja2",
    "yaml",
    "deepdiff",
    "filelock",
    "urllib3",
    "tenacity",
    "psycopg",
    "rmapply.emulator",
)
# What only writing the state, restoring it, reading a journal, a saved plan or another output
# format needs: a plan (without --out) that finds no journal beside its state never imports them
PLAN_NEVER = (
    "rmapply.state.lock",
    "rmapply.state.journal_parse",
    "rmapply.state.journal_writer",
    "rmapply.state.local_session",
    "rmapply.state.session",
    "rmapply.state.records",
    "rmapply.state.replay",
    "rmapply.state.restore",
    "rmapply.state.edit",
    "rmapply.plan.planfile",
    "rmapply.output.plan_json",
    "rmapply.output.plan_markdown",
)
TEMPLATE = """\
{% for key in sites %}
[jobs.{{ key }}]
type = "Full"
name = "Site {{ key }}"
workspace = "main"
inputs = [{ id = "{{ uuid5('url', 'photos/' ~ key) }}" }]
submit = false
[jobs.{{ key }}.settings]
quality = "Medium"
outputs = ["OBJ"]
{% endfor %}
"""


def imported(tmp_path: Path, *args: str) -> tuple[int, str, set[str]]:
    """Exit code, stdout and the modules imported by ``rmapply ARGS`` in a fresh process."""
    out = tmp_path / "modules.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("RMAPPLY_")}
    env.update(MODULES_OUT=str(out), NO_COLOR="1")
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    # the CLI's stand-in for pydantic's plugin loader is no import of pydantic
    return done.returncode, done.stdout, set(json.loads(out.read_text("utf-8"))) - {LOADER}


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "project"
    folder.mkdir()
    return folder


def found(modules: set[str], *packages: str) -> list[str]:
    """The imported modules that are ``packages`` or inside one of them."""
    return sorted(m for m in modules if any(m == p or m.startswith(p + ".") for p in packages))


def test_version_imports_neither_pydantic_nor_any_command(tmp_path: Path) -> None:
    code, out, modules = imported(tmp_path, "--version")
    assert (code, out.split()[:2]) == (0, ["rmapply,", "version"])
    assert found(modules, "pydantic", "rmapply.project", *HEAVY) == []
    assert found(modules, *(f"rmapply.cli.{m}" for m in COMMAND_MODULES.values())) == []


def test_help_lists_every_command_without_importing_one(tmp_path: Path) -> None:
    code, out, modules = imported(tmp_path, "--help")
    assert code == 0
    for name in COMMAND_MODULES:
        assert f"\n  {name} " in out, name
    assert found(modules, "pydantic", "rmapply.project", *HEAVY) == []
    assert found(modules, *(f"rmapply.cli.{m}" for m in COMMAND_MODULES.values())) == []


def test_help_lists_the_same_summaries_as_the_loaded_commands() -> None:
    context = click.Context(cli)
    assert set(COMMAND_SUMMARIES) == set(COMMAND_MODULES)
    for name in COMMAND_MODULES:
        command = cli.get_command(context, name)
        assert command is not None, name
        assert command.get_short_help_str(200) == COMMAND_SUMMARIES[name], name


def test_plan_without_refresh_on_a_warm_cache_renders_nothing_and_imports_no_heavy_library(
    tmp_path: Path, itwin_id: str
) -> None:
    project = write_project(_folder(tmp_path), itwin_id, extra_config='[vars]\nsites = ["b"]\n')
    (project / "jobs" / "more.toml.j2").write_text(TEMPLATE, encoding="utf-8")
    args = ("plan", "-C", str(project), "--no-refresh")
    code, first, modules = imported(tmp_path, *args)
    assert code == 0 and "jobs.b: create" in first
    assert "jinja2" in modules  # the cold run renders the template (and fills the cache)
    code, out, modules = imported(tmp_path, *args)
    assert (code, out) == (0, first)
    assert found(modules, *HEAVY) == []
    assert found(modules, "rmapply.manifests.render", "rmapply.client") == []
    assert found(modules, "rmapply.refresh", "concurrent.futures") == []  # only a refresh
    # pydantic looks for no plugin and the cache key reads no metadata: importlib.metadata
    # (with email, zipfile, csv) is about 20 ms; no HTTP either
    assert found(modules, "importlib.metadata", "email", "http", "ssl") == []
    assert found(modules, *PLAN_NEVER) == []
    # nothing is read from the service: none of its answers' models; no lock: no socket
    assert found(modules, "rmapply.wire.answers", "rmapply.wire.problems", "socket") == []
    # no remote change and no operation of unknown outcome to report: their models are not made
    assert found(modules, "rmapply.plan.reported") == []


def test_plan_of_yaml_manifests_still_reads_them(tmp_path: Path, itwin_id: str) -> None:
    project = write_project(_folder(tmp_path), itwin_id, {})
    (project / "jobs" / "site.yaml").write_text(
        "jobs:\n  site-y:\n    type: Full\n    name: Site Y\n    workspace: main\n"
        "    inputs: [{id: 8b3c2e1a-5f4d-4e6b-9a7c-1d2e3f4a5b6c}]\n"
        "    settings: {quality: Medium, outputs: [OBJ]}\n",
        encoding="utf-8",
    )
    code, out, modules = imported(tmp_path, "plan", "-C", str(project), "--no-refresh")
    assert code == 0 and "jobs.site-y: create" in out
    assert "yaml" in modules


def test_no_op_local_plan_imports_no_template_yaml_diff_lock_or_http_library(
    tmp_path: Path, itwin_id: str
) -> None:
    project = write_project(_folder(tmp_path), itwin_id, {"a": {"submit": "false"}})
    code, _, _ = imported(tmp_path, "apply", "-C", str(project), "--local", "--auto-approve")
    assert code == 0
    args = ("plan", "-C", str(project), "--local", "--detailed-exitcode")
    code, out, modules = imported(tmp_path, *args)
    assert code == 0, out
    assert "rmapply.emulator" in modules
    assert found(modules, "jinja2", "yaml", "deepdiff", "filelock") == []
    # the client hands its requests to the embedded emulator in process: no HTTP library, and
    # the emulator only reserves its port: no HTTP server, no TLS
    assert found(modules, "urllib3", "rmapply.client.urllib3_transport") == []
    assert found(modules, "http.server", "socketserver", "ssl", "rmapply.emulator.server") == []
    assert found(modules, "importlib.metadata") == []
    # every call succeeds at once and one workspace is read: no retry loop (tenacity), no thread
    # pool, no date header parsed or formatted by email, no logging, no idna codec
    assert found(modules, "tenacity", "concurrent.futures", "email", "logging") == []
    assert found(modules, "encodings.idna") == []
    # the state file is there and no journal beside it: no earlier trace is looked for
    assert found(modules, *PLAN_NEVER, "rmapply.state.traces", "rmapply.state.versions") == []
    # the emulator's answers name their status from a small table: no http (its status enum)
    assert found(modules, "http") == []
    # every action is a NoOp: the classes of the actions that change something are never made
    assert found(modules, "rmapply.plan.changes", "rmapply.plan.reported") == []
    assert found(modules, "rmapply.wire.job_creation") == []
    # every call succeeds: no error body is rendered, none of the error answers' models is made
    assert found(modules, "rmapply.wire.problems") == []


# Writes the names of the pydantic models made by importing what a plan imports.
MODELS_PROBE = """
import rmapply.project, rmapply.output.plan_text, rmapply.plan.planner
from pydantic import BaseModel
def walk(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from walk(sub)
print(" ".join(sorted({c.__name__ for c in walk(BaseModel) if c.__module__.startswith("rmapply")})))
"""


def test_planning_modules_make_no_model_a_no_op_plan_never_uses() -> None:
    # made on first use: a no-op plan builds only NoOp actions, reports no remote change and
    # no operation of unknown outcome, and creates no job (rmapply.plan.changes,
    # rmapply.plan.reported, rmapply.wire.job_creation)
    done = subprocess.run(
        [sys.executable, "-c", MODELS_PROBE], cwd=REPO, capture_output=True, text=True, check=True
    )
    made = set(done.stdout.split())
    assert "NoOp" in made and "Plan" in made
    never = {"CreateJob", "DeleteJob", "Forget", "SubmitJob", "CreateWorkspace"}
    never |= {"ReplaceWorkspace", "DeleteWorkspace", "RemoteChange", "Unresolved", "Settled"}
    never.add("JobCreation")  # the body of POST /jobs: a plan creating no job never needs it
    assert sorted(made & never) == []
    # still imported from where they were
    from rmapply.plan import CreateJob, RemoteChange, Settled, Unresolved
    from rmapply.plan.actions import ANY_ACTION_TYPES, Forget

    assert CreateJob in ANY_ACTION_TYPES and Forget in ANY_ACTION_TYPES
    assert {RemoteChange.__name__, Settled.__name__, Unresolved.__name__} <= never
