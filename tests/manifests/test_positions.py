"""Positions of keys in TOML text (tomllib gives none) and discovery order."""

from __future__ import annotations

from pathlib import Path

from rmapply.manifests.discover import discover
from rmapply.manifests.toml_positions import nearest, toml_positions
from tests.manifests.conftest import write_tree

TEXT = '''\
# comment with [brackets] and "quotes"
[jobs.site-a]
type = "Full"   # trailing
name = 'a"b'
inputs = [
  { id = "x", description = """multi
line [not a table]""" },
  { id = "y" },
]
settings.quality = "Draft"
settings.outputs = ["OBJ",
   "3MX"]

[[jobs.b.inputs]]
id = "1"
[[jobs.b.inputs]]
id = "2"
[jobs."c".settings]
quality = "x"
[jobs]
d = { type = "Full", settings = { outputs = ["a", "b"] } }
'''


def test_every_key_and_item_has_its_line_and_column() -> None:
    positions = toml_positions(TEXT)
    assert positions[("jobs", "site-a")] == (2, 1)
    assert positions[("jobs", "site-a", "name")] == (4, 1)
    assert positions[("jobs", "site-a", "inputs", 1, "id")] == (8, 5)
    assert positions[("jobs", "site-a", "settings", "outputs", 1)] == (12, 4)
    assert positions[("jobs", "b", "inputs", 1, "id")] == (17, 1)
    assert positions[("jobs", "c", "settings", "quality")] == (19, 1)
    assert positions[("jobs", "d", "settings", "outputs", 1)] == (21, 51)


def test_unknown_paths_fall_back_to_the_nearest_parent() -> None:
    positions = toml_positions(TEXT)
    assert nearest(positions, ("jobs", "site-a", "settings", "processingEngines")) == (10, 1)
    assert nearest(positions, ("nothing",)) == (0, 0)


def test_scanner_never_raises_on_text_it_does_not_expect() -> None:
    for text in ["[", "a =", "a = [1,", '"', "[[a]]\nb = {", "= 1"]:
        toml_positions(text)


def test_discovery_is_sorted_and_skips_partials_vars_and_config(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "b.yml": "",
            "a/z.toml.j2": "",
            "a/b.yaml": "",
            "_lib/x.toml": "",
            "a/_partial.yaml": "",
            ".git/config.toml": "",
            "vars/default.yaml": "",
            "sub/vars/kept.yaml": "",
            "notes.txt": "",
        },
    )
    names = [(f.name, f.format, f.templated) for f in discover(tmp_path)]
    assert names == [
        ("a/b.yaml", "yaml", False),
        ("a/z.toml.j2", "toml", True),
        ("b.yml", "yaml", False),
        ("sub/vars/kept.yaml", "yaml", False),
        ("workspaces.toml", "toml", False),
    ]
