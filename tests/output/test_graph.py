"""The resource graph as DOT and Mermaid: nodes labelled with address, type and last known state."""

from __future__ import annotations

import re
import warnings

import pydot
from hypothesis import given, settings
from hypothesis import strategies as st

with warnings.catch_warnings():
    # pydot 4 still spells pyparsing 3.3's deprecated names when it builds its grammar
    warnings.simplefilter("ignore")
    import pydot.dot_parser

from rmapply.output.graph import (
    Graph,
    GraphEdge,
    GraphNode,
    render_dot,
    render_mermaid,
    resource_graph,
)
from tests.factories import make_desired, make_job_spec, make_record, make_workspace_spec

DEFAULT_STATEMENTS = {"node", "edge", "graph"}


def dot_unquote(text: str) -> str:
    """A DOT double-quoted string's text (``\\n`` a line break, ``\\"`` a quote)."""
    assert text.startswith('"') and text.endswith('"'), text
    return re.sub(r"\\(.)", lambda m: "\n" if m[1] == "n" else m[1], text[1:-1], flags=re.DOTALL)


def parsed_dot(text: str) -> tuple[dict[str, str], set[tuple[str, str, str]]]:
    """(node name -> label, {(source, target, label)}) as pydot reads ``text``."""
    graphs = pydot.graph_from_dot_data(text)
    assert graphs is not None and len(graphs) == 1
    graph = graphs[0]
    nodes = {
        dot_unquote(node.get_name()): dot_unquote(node.get_label())
        for node in graph.get_nodes()
        if node.get_name() not in DEFAULT_STATEMENTS
    }
    edges = {
        (dot_unquote(e.get_source()), dot_unquote(e.get_destination()), dot_unquote(e.get_label()))
        for e in graph.get_edges()
    }
    return nodes, edges


def _example_graph() -> Graph:
    first = make_job_spec(
        settings={"quality": "Medium", "outputs": ["OBJ"], "cacheSettings": {"createCache": True}}
    )
    second = make_job_spec(
        name="Site B",
        dependsOn=["jobs.a"],
        settings={"quality": "Medium", "outputs": ["OBJ"], "cacheSettings": {"useCache": "jobs.a"}},
    )
    desired = make_desired({"a": first, "b": second})
    records = {
        "workspaces.main": make_record("workspaces.main", "ws-1", make_workspace_spec()),
        "jobs.a": make_record("jobs.a", "job-1", first, state="success"),
        "jobs.gone": make_record("jobs.gone", "job-9", first, state="active"),
    }
    return resource_graph(desired, records)


def test_graph_labels_each_resource_with_its_type_and_last_known_state() -> None:
    graph = _example_graph()
    assert graph.nodes == (
        GraphNode("jobs.a", "Full", "success"),
        GraphNode("jobs.b", "Full", "not created"),
        GraphNode("jobs.gone", "job", "active, not in the manifests"),
        GraphNode("workspaces.main", "workspace", "created"),
    )
    assert graph.edges == (
        GraphEdge("jobs.a", "jobs.b", "dependsOn"),
        GraphEdge("jobs.a", "jobs.b", "useCache"),
        GraphEdge("workspaces.main", "jobs.a", "workspace"),
        GraphEdge("workspaces.main", "jobs.b", "workspace"),
    )


def test_an_output_reference_is_an_edge_named_for_its_format() -> None:
    calib = make_job_spec(
        type="Calibration", settings={"quality": "Medium", "outputs": ["CCOrientations"]}
    )
    recon = make_job_spec(
        type="Reconstruction",
        name="Recon",
        inputs=[{"id": "photos-a"}, {"id": "jobs.calib.outputs.CCOrientations"}],
    )
    graph = resource_graph(make_desired({"calib": calib, "recon": recon}), {})
    assert GraphEdge("jobs.calib", "jobs.recon", "outputs.CCOrientations") in graph.edges
    _, edges = parsed_dot(render_dot(graph))
    assert ("jobs.calib", "jobs.recon", "outputs.CCOrientations") in edges


def test_dot_output_parses_with_its_nodes_labels_and_edges() -> None:
    nodes, edges = parsed_dot(render_dot(_example_graph()))
    assert nodes == {
        "jobs.a": "jobs.a\nFull\nsuccess",
        "jobs.b": "jobs.b\nFull\nnot created",
        "jobs.gone": "jobs.gone\njob\nactive, not in the manifests",
        "workspaces.main": "workspaces.main\nworkspace\ncreated",
    }
    assert ("jobs.a", "jobs.b", "useCache") in edges and len(edges) == 4


def test_mermaid_output_is_a_flowchart_with_one_line_per_node_and_edge() -> None:
    assert render_mermaid(_example_graph()).splitlines() == [
        "flowchart LR",
        '  n0["jobs.a<br/>Full<br/>success"]',
        '  n1["jobs.b<br/>Full<br/>not created"]',
        '  n2["jobs.gone<br/>job<br/>active, not in the manifests"]',
        '  n3["workspaces.main<br/>workspace<br/>created"]',
        '  n0 -->|"dependsOn"| n1',
        '  n0 -->|"useCache"| n1',
        '  n3 -->|"workspace"| n0',
        '  n3 -->|"workspace"| n1',
    ]


def test_mermaid_labels_spell_quotes_and_markup_as_entities() -> None:
    graph = Graph((GraphNode('jobs."x"<b>#1;', "Full", "a\nb"),), ())
    assert render_mermaid(graph).splitlines()[1] == (
        '  n0["jobs.#34;x#34;#60;b#62;#35;1;<br/>Full<br/>a<br/>b"]'
    )


def _shown(text: str) -> str:
    """What a label can show: control characters other than a newline become U+FFFD."""
    return "".join(
        "\ufffd" if (ord(c) < 32 and c != "\n") or 0x7F <= ord(c) < 0xA0 else c for c in text
    )


texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)


@settings(max_examples=60, deadline=None)
@given(address=texts, other=texts, kind=texts, state=texts)
def test_any_address_and_state_text_yields_dot_that_parses_with_the_same_labels(
    address: str, other: str, kind: str, state: str
) -> None:
    nodes_in = {GraphNode(address, kind, state), GraphNode(other + "~", "workspace", "created")}
    graph = Graph(tuple(sorted(nodes_in)), (GraphEdge(other + "~", address, state),))
    nodes, edges = parsed_dot(render_dot(graph))
    assert nodes == {_shown(n.address): _shown(n.label) for n in nodes_in}
    assert edges == {(_shown(other + "~"), _shown(address), _shown(state))}
