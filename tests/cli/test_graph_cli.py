"""rmapply graph on the example manifests: DOT that Graphviz tools read, Mermaid for a PR."""

from __future__ import annotations

from click.testing import CliRunner

from rmapply.cli import cli
from tests.output.test_graph import parsed_dot
from tests.reference import REPO

EXAMPLE = str(REPO / "manifests")


def test_graph_of_the_example_is_dot_with_every_resource_and_dependency() -> None:
    result = CliRunner().invoke(cli, ["graph", "-C", EXAMPLE])
    assert (result.exit_code, result.stderr) == (0, "")
    nodes, edges = parsed_dot(result.stdout)
    assert nodes == {
        "workspaces.main": "workspaces.main\nworkspace\nnot created",
        "jobs.site-a": "jobs.site-a\nFull\nnot created",
        "jobs.bridge-north": "jobs.bridge-north\nFull\nnot created",
        "jobs.bridge-south": "jobs.bridge-south\nFull\nnot created",
        "jobs.viaduct-east": "jobs.viaduct-east\nFull\nnot created",
        "jobs.calib": "jobs.calib\nCalibration\nnot created",
        "jobs.recon": "jobs.recon\nReconstruction\nnot created",
    }
    workspace = {
        ("workspaces.main", f"jobs.{key}", "workspace")
        for key in ("site-a", "bridge-north", "bridge-south", "viaduct-east", "calib", "recon")
    }
    assert edges == workspace | {
        ("jobs.bridge-north", "jobs.site-a", "dependsOn"),
        ("jobs.bridge-north", "jobs.site-a", "useCache"),
        ("jobs.calib", "jobs.recon", "outputs.CCOrientations"),
    }


def test_graph_in_mermaid_starts_a_flowchart_and_names_every_resource() -> None:
    result = CliRunner().invoke(cli, ["-C", EXAMPLE, "graph", "--format", "mermaid"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "flowchart LR"
    assert '  n6["workspaces.main<br/>workspace<br/>not created"]' in lines
    assert '  n0 -->|"useCache"| n4' in lines  # bridge-north's cache, reused by site-a
    assert '  n2 -->|"outputs.CCOrientations"| n3' in lines  # the pipeline
    assert len(lines) == 1 + 7 + 9


def test_graph_of_manifests_with_a_problem_reports_it_and_exits_1(tmp_path) -> None:
    (tmp_path / "rmapply.toml").write_text("[project]\n")
    (tmp_path / "a.toml").write_text("[jobs\n")
    result = CliRunner().invoke(cli, ["graph", "-C", str(tmp_path)])
    assert result.exit_code == 1
    assert "a.toml:1" in result.stderr and result.stdout == ""
