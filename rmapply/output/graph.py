"""The resources and their dependencies as a graph: Graphviz DOT or Mermaid text."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

from rmapply.model import DesiredState
from rmapply.model.address import Address
from rmapply.state import ResourceRecord

NOT_CREATED = "not created"
GRAPH_FORMATS = ("dot", "mermaid")


@dataclass(frozen=True, order=True)
class GraphNode:
    """One resource: its address, its type (job type or ``workspace``) and last known state."""

    address: str
    type: str
    state: str

    @property
    def label(self) -> str:
        """Three lines: address, type, state."""
        return f"{self.address}\n{self.type}\n{self.state}"


@dataclass(frozen=True, order=True)
class GraphEdge:
    """``source`` is applied before ``target``; ``relation`` says why (dependsOn, useCache,
    workspace, or ``outputs.FORMAT`` for an input that is the source's output)."""

    source: str
    target: str
    relation: str


@dataclass(frozen=True)
class Graph:
    """Nodes and edges, sorted, so the same inputs always draw the same text."""

    nodes: tuple[GraphNode, ...]
    edges: tuple[GraphEdge, ...]


def _last_known(record: ResourceRecord | None) -> str:
    if record is None:
        return NOT_CREATED
    if record.kind == "job":
        return record.job_state or "created"
    return "created"


def resource_graph(desired: DesiredState, records: Mapping[str, ResourceRecord]) -> Graph:
    """The graph of the desired resources, labelled from the state's records; a resource only
    in state (it left the manifests) is drawn too, marked so."""
    nodes: dict[str, GraphNode] = {}
    edges: set[GraphEdge] = set()
    for workspace in desired.workspaces.values():
        address = str(workspace.address)
        nodes[address] = GraphNode(address, "workspace", _last_known(records.get(address)))
    for job in desired.jobs.values():
        address = str(job.address)
        nodes[address] = GraphNode(address, job.spec.type.value, _last_known(records.get(address)))
        spec = job.spec
        for text in spec.depends_on:
            edges.add(GraphEdge(text, address, "dependsOn"))
        if spec.workspace:
            edges.add(GraphEdge(str(Address.workspace(spec.workspace)), address, "workspace"))
        if spec.cache_address:
            edges.add(GraphEdge(spec.cache_address, address, "useCache"))
        for ref in spec.output_refs.values():  # an input written as jobs.KEY.outputs.FORMAT
            edges.add(GraphEdge(str(ref.address), address, f"outputs.{ref.format}"))
    for address, record in records.items():
        if address not in nodes:
            kind = "workspace" if record.kind == "workspace" else "job"
            state = f"{_last_known(record)}, not in the manifests"
            nodes[address] = GraphNode(address, kind, state)
    return Graph(tuple(sorted(nodes.values())), tuple(sorted(edges)))


def _visible(text: str) -> str:
    """Control characters other than newlines shown as U+FFFD (no format keeps them)."""
    return "".join(
        "\ufffd" if ch != "\n" and unicodedata.category(ch) in ("Cc", "Cs") else ch for ch in text
    )


def dot_string(text: str) -> str:
    """``text`` as a DOT double-quoted string (newlines become ``\\n`` line breaks)."""
    escaped = _visible(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def render_dot(graph: Graph) -> str:
    """The graph in Graphviz DOT: ``rmapply graph | dot -Tsvg > graph.svg``."""
    lines = [
        "digraph rmapply {",
        "  rankdir=LR;",
        '  node [shape=box, fontname="Helvetica"];',
    ]
    for node in graph.nodes:
        shape = ", style=rounded" if node.type == "workspace" else ""
        lines.append(f"  {dot_string(node.address)} [label={dot_string(node.label)}{shape}];")
    for edge in graph.edges:
        lines.append(
            f"  {dot_string(edge.source)} -> {dot_string(edge.target)}"
            f" [label={dot_string(edge.relation)}];"
        )
    lines.append("}")
    return "\n".join(lines) + "\n"


def mermaid_text(text: str) -> str:
    """``text`` for a Mermaid ``"..."`` label: entity codes for what Mermaid would read."""
    out = []
    for ch in _visible(text):
        if ch == "\n":
            out.append("<br/>")
        elif ch in '"#<>&`':
            out.append(f"#{ord(ch)};")
        else:
            out.append(ch)
    return "".join(out)


def render_mermaid(graph: Graph) -> str:
    """The graph as a Mermaid flowchart (GitHub draws it in a ```mermaid block)."""
    ids = {node.address: f"n{index}" for index, node in enumerate(graph.nodes)}
    lines = ["flowchart LR"]
    for node in graph.nodes:
        lines.append(f'  {ids[node.address]}["{mermaid_text(node.label)}"]')
    for edge in graph.edges:
        source = ids.get(edge.source)
        target = ids.get(edge.target)
        if source is None or target is None:  # an edge to nothing drawn (an invalid reference)
            continue
        lines.append(f'  {source} -->|"{mermaid_text(edge.relation)}"| {target}')
    return "\n".join(lines) + "\n"
