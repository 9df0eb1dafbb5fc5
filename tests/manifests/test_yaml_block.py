"""The fast block-YAML reader gives exactly PyYAML's data, or steps aside (None)."""

from __future__ import annotations

import math
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from rmapply.manifests.parse import RESOURCE_KINDS, YamlLoader
from rmapply.manifests.yaml_block import parse_block

SETTINGS = settings(max_examples=150, deadline=None)


def reference(text: str) -> Any:
    """What the full parser (libyaml + SafeConstructor) reads, or the exception it raises."""
    try:
        return list(yaml.load_all(text, Loader=YamlLoader))
    except (yaml.YAMLError, ValueError, TypeError, OverflowError, RecursionError) as exc:
        return exc


def same(a: Any, b: Any) -> bool:
    """Equal values of equal types all the way down (1, 1.0 and True are three values)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    return bool(a == b)


def check(text: str) -> bool:
    """The fast reader agrees with the reference; True when it read the text itself."""
    fast = parse_block(text, 32, RESOURCE_KINDS)
    if fast is None:
        return False
    expected = reference(text)
    assert not isinstance(expected, Exception), f"accepted what PyYAML refuses: {expected}"
    assert len(expected) == 1
    assert same(fast[0], expected[0])
    return True


def resource_lines(text: str) -> dict[tuple[str, str], int]:
    """Lines of ``jobs.KEY`` / ``workspaces.KEY`` from composed nodes (the full parser's way)."""
    node = yaml.compose(text, Loader=YamlLoader)
    found: dict[tuple[str, str], int] = {}
    for key, value in node.value:
        if key.value in RESOURCE_KINDS and isinstance(value, yaml.MappingNode):
            for inner, _ in value.value:
                found.setdefault((key.value, inner.value), inner.start_mark.line + 1)
    return found


words = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    words,
    st.sampled_from(["yes", "No", "on", "~", "null", "1e3", "0x1F", "1_000", "2024-01-01", "3MX"]),
    st.sampled_from(["a: b", "a #b", "- x", "'q'", '"d"', "[x]", "{y}", "&a", "*a", "!t", "%"]),
)
keys = st.one_of(
    *[st.from_regex(r"[A-Za-z_][A-Za-z0-9_-]{0,8}", fullmatch=True)] * 30,
    st.sampled_from(["yes", "1", "null", "on", "<<", "a b", "x:y", "-k", "3MX"]),
    words,
)
data = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=4)),
    max_leaves=25,
)
dump_options = st.fixed_dictionaries(
    {
        "default_flow_style": st.sampled_from([False, None]),
        "indent": st.sampled_from([2, 3, 4]),
        "width": st.sampled_from([20, 80, 10_000]),
        "allow_unicode": st.booleans(),
        "sort_keys": st.booleans(),
    }
)


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(keys, data, min_size=1, max_size=4), dump_options)
def test_dumped_documents_read_the_same_as_pyyaml(value: dict[Any, Any], options: Any) -> None:
    check(yaml.safe_dump(value, **options))


INDENTS = ["", "  ", "    ", "   ", "      "]
LINE_KEYS = ["a", "b", "jobs", "workspaces", "site-a", "yes", "1", "k.x", "<<", '"q"', "? a"]
VALUES = [
    "",
    " ",
    "x",
    "x y",
    "1",
    "-1",
    "1.5",
    "1e3",
    "1.0e+3",
    ".inf",
    "0o17",
    "0x1F",
    "~",
    "null",
    "Yes",
    "off",
    "2024-01-01",
    "12:30",
    "a: b",
    "a:b",
    "b:",
    "x #c",
    "x#c",
    "# c",
    "'it''s'",
    "'a' b",
    "''",
    '"a\\tb"',
    '"a\\x41\\u00e9\\U0001F600"',
    '"\\ud800"',
    '"a\\qb"',
    '"open',
    '"x"#c',
    '"x" #c',
    "[a, b]",
    "[a, 'b c', \"d\"]",
    "[]",
    "[ ]",
    "[a, ]",
    "[a, [b]]",
    "[a",
    "[a: b]",
    "[- a]",
    "{}",
    "{a: 1}",
    "&a x",
    "*a",
    "!!str 1",
    "|",
    ">-",
    "-",
    "- x",
    "?x",
    "@x",
    "%x",
    "x\ty",
    "é ü",
    "<<",
    "=",
]


SAFE_KEYS = ["a", "b", "type", "name", "site-a", "k.x", "3MX", "x_1"]
SAFE_VALUES = [
    v for v in VALUES if parse_block(f"k: {v}\n", 32, RESOURCE_KINDS) is not None and v.strip()
]


@st.composite
def block_documents(draw: st.DrawFn) -> str:
    """Block YAML as a user or a template writes it: mostly well formed, with tricky values,
    comments, blank lines, both sequence styles, and now and then a misplaced line."""
    step = draw(st.sampled_from([2, 3, 4]))
    lines: list[str] = []

    def key() -> str:
        return draw(st.sampled_from(SAFE_KEYS if draw(st.integers(0, 15)) else LINE_KEYS))

    def value() -> str:
        return draw(st.sampled_from(SAFE_VALUES if draw(st.integers(0, 15)) else VALUES))

    def extras(indent: int) -> None:
        choice = draw(st.integers(0, 12))
        if choice == 0:
            lines.append(" " * indent + "# " + value())
        elif choice == 1:
            lines.append(" " * draw(st.integers(0, 6)))

    def mapping(indent: int, depth: int, prefix: str | None = None) -> None:
        for number in range(draw(st.integers(1, 3))):
            extras(indent)
            lead = prefix if (prefix is not None and number == 0) else " " * indent
            if draw(st.integers(0, 40)) == 0:
                lead = " " * max(0, len(lead) + draw(st.sampled_from([-1, 1])))
            block(f"{lead}{key()}:", indent, depth)

    def sequence(indent: int, depth: int) -> None:
        for _ in range(draw(st.integers(1, 3))):
            extras(indent)
            gap = draw(st.sampled_from([" ", " ", "   "]))
            kind = draw(st.integers(0, 3)) if depth < 4 else 0
            if kind == 0:
                lines.append(" " * indent + "-" + gap + value())
            elif kind == 1:  # "- key: value" and more keys below it
                mapping(indent + 1 + len(gap), depth + 1, " " * indent + "-" + gap)
            else:
                lines.append(" " * indent + "-")
                (mapping if kind == 2 else sequence)(indent + step, depth + 1)

    def block(head: str, indent: int, depth: int) -> None:
        kind = draw(st.integers(0, 3)) if depth < 4 else 0
        if kind == 0:
            lines.append(f"{head} {value()}" + draw(st.sampled_from(["", "", "  ", " # c"])))
            return
        lines.append(head + draw(st.sampled_from(["", "", " # c"])))
        if kind == 1:
            mapping(indent + step, depth + 1)
        else:  # a sequence, indented or at the key's own indent
            sequence(indent + (step if kind == 2 else 0), depth + 1)

    mapping(0, 1)
    return "\n".join(lines) + draw(st.sampled_from(["\n", "", "\n\n", "\n---\n"]))


@settings(max_examples=1500, deadline=None)
@given(block_documents())
def test_hand_written_documents_read_the_same_or_step_aside(text: str) -> None:
    check(text)


MANIFEST = """\
# comment
jobs:
  site-a:
    type: Full
    name: "Site \\"A\\""   # quoted
    workspace: main
    inputs:
      - id: 58e0c0ca-f730-4e5b-808d-1c8cacacb4d4
        description: 'It''s the photos'
      -   id: x
    settings:
      quality: Extra
      processingEngines: 5
      outputs: [OBJ, 3MX, "Cesium 3D Tiles"]
      cacheSettings: {}
  site-b:
    type: Full
    inputs:
    - id: y
workspaces:

  main:
    name: Main
"""


def test_the_common_manifest_shape_takes_the_fast_path_with_resource_lines() -> None:
    assert check(MANIFEST)
    fast = parse_block(MANIFEST, 32, RESOURCE_KINDS)
    assert fast is not None
    assert (
        fast[1]
        == resource_lines(MANIFEST)
        == {
            ("jobs", "site-a"): 3,
            ("jobs", "site-b"): 16,
            ("workspaces", "main"): 22,
        }
    )


@pytest.mark.parametrize(
    "text",
    [
        "a: 1\na: 2\n",  # duplicates: the full parser reports them
        "a:\n  b: 1\n  b: 2\n",
        "yes: 1\n",  # a key that is not text
        "a: &x 1\nb: *x\n",
        "a: |\n  text\n",
        "a: x\n  continued\n",
        "a: 1\n---\nb: 2\n",
        "- 1\n- 2\n",
        "a:\tb\n",
        "a: 2024-01-01\n",
        "a: " + "[" * 3 + "]" * 3 + "\n",
        "".join(f"{'  ' * i}k:\n" for i in range(40)),  # deeper than the limit
    ],
)
def test_anything_unusual_is_left_to_the_full_parser(text: str) -> None:
    assert parse_block(text, 32, RESOURCE_KINDS) is None


def test_shared_flow_values_are_separate_objects() -> None:
    fast = parse_block("a: [x]\nb: [x]\nc: {}\nd: {}\n", 32, RESOURCE_KINDS)
    assert fast is not None
    data = fast[0]
    assert data["a"] == data["b"] and data["a"] is not data["b"]
    assert data["c"] == data["d"] == {} and data["c"] is not data["d"]
