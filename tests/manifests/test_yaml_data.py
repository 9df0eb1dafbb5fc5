"""The fast YAML construction gives exactly what PyYAML's SafeConstructor gives."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from rmapply.manifests.parse import YamlLoader
from rmapply.manifests.yaml_data import TooDeepError, construct


def both(text: str) -> tuple[Any, Any, bool | None]:
    loader = YamlLoader(text)
    try:
        node = loader.get_single_node()
        fast, safe, _ = construct(node, loader, shared="*" in text, max_depth=32)
    finally:
        loader.dispose()
    return fast, yaml.load(text, Loader=YamlLoader), safe


scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=10)
)
data = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=60, deadline=None)
@given(data)
def test_same_data_as_safe_constructor(value: Any) -> None:
    fast, reference, safe = both(yaml.safe_dump({"v": value}))
    assert fast == reference
    assert safe is True


@pytest.mark.parametrize(
    "text",
    [
        "base: &b {x: 1}\nuse: {<<: *b, y: 2}\n",  # merge key
        "when: 2024-01-01\n",  # timestamp
        "blob: !!binary aGVsbG8=\n",  # binary
        "? a\n: explicit key\n",
        "s: !!set {a, b}\n",
        "yes_no: [yes, no, on, off, ~, 0x1f, 0o17, 1_000, .inf, -.inf]\n",
        "1: int key\ntrue: bool key\nnull: null key\n",
    ],
)
def test_unusual_documents_match_too(text: str) -> None:
    fast, reference, _ = both(text)
    assert fast == reference


def test_aliases_share_one_object_like_pyyaml() -> None:
    fast, _, _ = both("a: &x [1]\nb: *x\n")
    assert fast["a"] is fast["b"]


def test_depth_is_checked_while_building() -> None:
    with pytest.raises(TooDeepError):
        both("a: " + "[" * 40 + "]" * 40 + "\n")
