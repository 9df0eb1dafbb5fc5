"""Malformed files of any kind end in a clear message, never a traceback or a hang."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from rmapply.manifests.limits import MAX_EXPANDED_NODES
from tests.manifests.conftest import problems

MakeDir = Callable[..., Path]


def alias_bomb() -> str:
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    for i in range(1, 12):
        previous, name = chr(96 + i), chr(97 + i)
        lines.append(f"{name}: &{name} [" + ",".join([f"*{previous}"] * 9) + "]")
    return "\n".join(lines) + "\n"


CASES = [
    (
        "bad.toml",
        "[jobs\n",
        "bad.toml:1:6: invalid TOML: Expected ']' at the end of a table declaration",
    ),
    (
        "dup.toml",
        "a = 1\na = 2\n",
        "dup.toml:2:1: a: invalid TOML: defined twice (first at line 1)",
    ),
    (
        "bad.yaml",
        "jobs:\n  a: [1,\n",
        "bad.yaml:3:1: invalid YAML: did not find expected node content "
        "(while parsing a flow node)",
    ),
    (
        "tab.yaml",
        "jobs:\n\ta: 1\n",
        "tab.yaml:2:1: invalid YAML: found character that cannot start any token "
        "(while scanning for the next token)",
    ),
    (
        "latin1.yaml",
        b"name: caf\xe9\n",
        "latin1.yaml:1: is not UTF-8 text (byte 0xe9); is it a binary file?",
    ),
    (
        "binary.toml",
        bytes(range(256)) * 4,
        "binary.toml:2: is not UTF-8 text (byte 0x80); is it a binary file?",
    ),
    (
        "control.yaml",
        "a: \x00\x01\n",
        "control.yaml:1:4: invalid YAML: control characters are not allowed (character #x0000)",
    ),
    (
        "deep.yaml",
        "jobs: " + "[" * 200 + "]" * 200 + "\n",
        "deep.yaml: nested deeper than 32 levels",
    ),
    ("deep.toml", "a = " + "[" * 200 + "]" * 200 + "\n", "deep.toml: nested deeper than 32 levels"),
    (
        "deeper.toml",
        "a = " + "[" * 5000 + "]" * 5000 + "\n",
        "deeper.toml: nested deeper than 32 levels",
    ),
    (
        "bomb.yaml",
        alias_bomb(),
        f"bomb.yaml:7: aliases expand to more than {MAX_EXPANDED_NODES:,} values",
    ),
    ("loop.yaml", "a: &a [*a]\n", "loop.yaml:1: recursive alias (a value contains itself)"),
    ("date.yaml", "a: 2024-13-45\n", "date.yaml: invalid YAML value: month must be in 1..12"),
    (
        "key.yaml",
        "? [a, b]\n: x\n",
        "key.yaml:1:3: invalid YAML: found unhashable key (while constructing a mapping)",
    ),
    ("list.yaml", "- 1\n- 2\n", "list.yaml: a manifest holds tables 'workspaces' and 'jobs'"),
    ("scalar.yaml", "hello\n", "scalar.yaml: a manifest holds tables 'workspaces' and 'jobs'"),
]


@pytest.mark.parametrize(("name", "content", "message"), CASES, ids=[c[0] for c in CASES])
def test_malformed_file_gives_one_clear_problem(
    make_dir: MakeDir, name: str, content: str | bytes, message: str
) -> None:
    assert problems(make_dir({name: content})) == [message]


def test_file_over_the_size_limit_is_refused_without_reading_it(make_dir: MakeDir) -> None:
    directory = make_dir({})
    with (directory / "big.yaml").open("wb") as stream:
        stream.truncate(50 * 1024 * 1024)
    assert problems(directory) == ["big.yaml: is 50.0 MiB; a manifest may be at most 10 MiB"]


def test_template_that_renders_too_much_is_stopped(make_dir: MakeDir) -> None:
    text = (
        "{% for i in range(100000) %}{% for j in range(1000) %}xxxxxxxxxx{% endfor %}{% endfor %}"
    )
    assert problems(make_dir({"a.yaml.j2": text})) == ["a.yaml.j2: renders to more than 64 MiB"]


def test_rendered_problems_in_a_template_are_mapped_to_the_template(make_dir: MakeDir) -> None:
    text = "{% set x = 1 %}\njobs:\n  a: [\n"
    assert problems(make_dir({"a.yaml.j2": text})) == [
        "a.yaml.j2:4: invalid YAML: did not find expected node content (while parsing a flow node)"
        "\n  rendered text, numbered by the lines of a.yaml.j2 that wrote it:"
        "\n    2 | jobs:"
        "\n    3 |   a: ["
        "\n  > 4 | "
    ]


def nested_yaml_block(levels: int, last: str = "1") -> str:
    """``levels`` mappings inside each other (the document itself is the first)."""
    lines = [f"{'  ' * i}k:" for i in range(levels - 1)]
    return "\n".join([*lines, "  " * (levels - 1) + f"k: {last}"]) + "\n"


@pytest.mark.parametrize(
    ("name", "allowed", "refused"),
    [
        ("block.yaml", nested_yaml_block(32), nested_yaml_block(33)),
        ("inline.yaml", nested_yaml_block(31, "[1]"), nested_yaml_block(32, "[1]")),
        ("flow.yaml", "k: " + "[" * 31 + "]" * 31 + "\n", "k: " + "[" * 32 + "]" * 32 + "\n"),
        ("deep.toml", "k = " + "[" * 31 + "]" * 31 + "\n", "k = " + "[" * 32 + "]" * 32 + "\n"),
    ],
)
def test_every_reader_allows_32_levels_and_refuses_33(
    make_dir: MakeDir, name: str, allowed: str, refused: str
) -> None:
    assert problems(make_dir({name: allowed})) == [
        f"{name}:1:1: k: unknown top-level key 'k'; expected 'workspaces' or 'jobs'"
    ]
    assert problems(make_dir({name: refused})) == [f"{name}: nested deeper than 32 levels"]
